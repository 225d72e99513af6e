import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import { JwtAuthenticator } from './auth/jwt-authenticator.js'
import { CloseCode } from './close-codes.js'
import { closed, connectProvider, disconnect, eventually, openRawSocket, synced } from './test-support/clients.js'
import { hocuspocusFrame } from './test-support/hocuspocus.js'
import { startTestServer } from './test-support/server.js'
import { mintToken, TEST_SECRET } from './test-support/tokens.js'

interface LogLine {
  readonly level: number
  readonly msg: string
  readonly [field: string]: unknown
}

/** A logger whose lines a test reads back, as an operator reads them. */
function capturedLogger() {
  const lines: LogLine[] = []
  const text: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        text.push(line)
        lines.push(JSON.parse(line) as LogLine)
      }
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines, text }
}

const INFO = 30
const WARN = 40

describe('connection logs', () => {
  it('[LG1] one line per connection opened and closed, one per refusal, with document and user, never a token', async () => {
    const { logger, lines, text } = capturedLogger()
    const server = await startTestServer({ logger, authenticator: new JwtAuthenticator(TEST_SECRET) })
    const token = await mintToken({ sub: 'ada', docs: ['logged'] })
    const provider = connectProvider(server.wsUrl, 'logged', undefined, token)
    await synced(provider)
    disconnect(provider)
    await eventually(() => lines.some((line) => line.msg === 'connection closed' && line.user === 'ada'), 'no close line')
    const opened = lines.filter((line) => line.msg === 'connection opened' && line.document === 'logged')
    assert.equal(opened.length, 1)
    assert.equal(opened[0]!.level, INFO)
    assert.equal(opened[0]!.protocol, 'y-websocket')

    const other = await mintToken({ sub: 'bob', docs: ['elsewhere'] })
    const refused = await openRawSocket(`${server.wsUrl}/logged?token=${other}`)
    assert.equal((await closed(refused)).code, CloseCode.forbidden)
    const hocuspocus = await openRawSocket(server.wsUrl)
    hocuspocus.send(hocuspocusFrame('logged', 2, 0, other, '4.8.0'))
    await eventually(() => lines.some((line) => line.msg === 'document refused'), 'no Hocuspocus refusal line')
    hocuspocus.close()
    await eventually(() => lines.filter((line) => line.msg === 'connection closed').length >= 3, 'missing close lines')

    const refusals = lines.filter((line) => line.level === WARN)
    assert.deepEqual(refusals.map((line) => [line.msg, line.document, line.code]), [
      ['connection refused', 'logged', CloseCode.forbidden],
      ['document refused', 'logged', CloseCode.forbidden],
    ])
    assert.ok(refusals.every((line) => typeof line.reason === 'string'))
    for (const secret of [token, other, token.split('.')[2]!, other.split('.')[2]!]) {
      assert.ok(!text.some((line) => line.includes(secret)), 'a token reached the log')
    }
    await server.stop()
  })
})
