import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import { CloseCode } from './close-codes.js'
import { runRefusedServer, startChildServer } from './test-support/child-server.js'
import { connectProvider, disconnect, synced, when, withTimeout } from './test-support/clients.js'
import { temporaryDirectory } from './test-support/server.js'

/** Tokens in a document's text: every writer inserts `w<writer>-<n>;`. */
function tokens(doc: Y.Doc): Set<string> {
  return new Set(doc.getText('text').toString().split(';').filter(Boolean))
}

describe('the server process', () => {
  it('[PR1] killed with SIGKILL under load, it restarts with every update any client received', async () => {
    const dataDir = await temporaryDirectory()
    const first = await startChildServer({ DATA_DIR: dataDir.path })
    const writers = [0, 1, 2].map(() => connectProvider(first.wsUrl, 'crash'))
    const observer = connectProvider(first.wsUrl, 'crash')
    await Promise.all([...writers, observer].map((client) => synced(client)))
    let running = true
    const load = writers.map(async (writer, index) => {
      for (let n = 0; running; n++) {
        writer.doc.getText('text').insert(0, `w${index}-${n};`)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })
    await when(
      observer.doc,
      'update',
      () => tokens(observer.doc).size >= 150,
      'load did not flow',
      15_000,
    )
    first.process.kill('SIGKILL')
    await first.exited
    running = false
    await Promise.all(load)

    // What each client received from the server: everything but its own writes.
    const received = new Set<string>()
    for (const [index, client] of [...writers, observer].entries()) {
      for (const token of tokens(client.doc)) {
        if (!token.startsWith(`w${index}-`)) received.add(token)
      }
    }
    disconnect(...writers, observer)
    assert.ok(received.size >= 150)

    const second = await startChildServer({ DATA_DIR: dataDir.path })
    const reader = connectProvider(second.wsUrl, 'crash')
    await synced(reader, 15_000)
    const stored = tokens(reader.doc)
    const lost = [...received].filter((token) => !stored.has(token))
    assert.deepEqual(lost, [], `${lost.length} of ${received.size} received updates were lost`)
    disconnect(reader)
    second.process.kill('SIGTERM')
    await second.exited
    await dataDir.dispose()
  })

  it('[PR2] SIGTERM closes clients with 1001, keeps their edits, and exits 0', async () => {
    const dataDir = await temporaryDirectory()
    const server = await startChildServer({ DATA_DIR: dataDir.path })
    const writer = connectProvider(server.wsUrl, 'graceful')
    const reader = connectProvider(server.wsUrl, 'graceful')
    await Promise.all([synced(writer), synced(reader)])
    const closeCodes: number[] = []
    const onClose = (event: { code: number } | null) => {
      if (event) closeCodes.push(event.code)
    }
    for (const client of [writer, reader]) client.on('connection-close', onClose)
    writer.doc.getText('text').insert(0, 'kept through shutdown')
    await when(reader.doc, 'update', () => reader.doc.getText('text').length > 0, 'not relayed')
    server.process.kill('SIGTERM')
    const { code } = await withTimeout(server.exited, 10_000, 'did not exit')
    assert.equal(code, 0)
    await when(writer, 'status', () => closeCodes.length === 2, 'clients were not closed')
    assert.deepEqual(closeCodes, [CloseCode.goingAway, CloseCode.goingAway])
    disconnect(writer, reader)

    const again = await startChildServer({ DATA_DIR: dataDir.path })
    const check: WebsocketProvider = connectProvider(again.wsUrl, 'graceful')
    await synced(check)
    assert.equal(check.doc.getText('text').toString(), 'kept through shutdown')
    disconnect(check)
    again.process.kill('SIGTERM')
    await again.exited
    await dataDir.dispose()
  })

  it('[PR3] a bad environment variable stops start-up with one line naming it', async () => {
    const { code, stderr } = await runRefusedServer({ MAX_MESSAGE_BYTES: 'lots' })
    assert.equal(code, 1)
    assert.equal(stderr.trim().split('\n').length, 1, stderr)
    assert.match(stderr, /MAX_MESSAGE_BYTES/)
  })
})
