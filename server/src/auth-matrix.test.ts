import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, it, mock } from 'node:test'
import * as decoding from 'lib0/decoding'
import type { Counter } from 'prom-client'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { JwtAuthenticator } from './auth/jwt-authenticator.js'
import { CloseCode } from './close-codes.js'
import { MemoryStore } from '@tandem/persistence/memory-store'
import {
  closed,
  connectProvider,
  disconnect,
  eventually,
  openRawSocket,
  synced,
  when,
  withTimeout,
} from './test-support/clients.js'
import {
  connectHocuspocus,
  disconnectHocuspocus,
  hocuspocusFrame,
  hocuspocusSynced,
} from './test-support/hocuspocus.js'
import { startTestServer } from './test-support/server.js'
import { mintToken, TEST_SECRET } from './test-support/tokens.js'

const SECRET_TEXT = 'the content nobody refused may see'

/** Every way a token can be refused, and the code each gets. */
async function refusals(): Promise<Array<[string, string | null, 401 | 403]>> {
  return [
    ['no token', null, 401],
    ['garbage', 'garbage.token.here', 401],
    ['wrong secret', await mintToken({ secret: 'a-different-secret-just-as-long-as-the-real' }), 401],
    ['another algorithm', await mintToken({ alg: 'HS512' }), 401],
    ['expired', await mintToken({ expiresIn: -60 }), 401],
    ['document outside docs', await mintToken({ docs: ['other-*', 'team-beta'] }), 403],
  ]
}

describe('who may open which document', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  before(async () => {
    const store = new MemoryStore()
    const seed = new Y.Doc()
    seed.getText('text').insert(0, SECRET_TEXT)
    await store.append('team-alpha', [Y.encodeStateAsUpdate(seed)])
    server = await startTestServer({ store, authenticator: new JwtAuthenticator(TEST_SECRET) })
  })
  after(() => server.stop())

  it('[AU1] y-websocket: refused tokens are closed with 4401/4403 before any frame', async () => {
    for (const [what, token, status] of await refusals()) {
      const query = token === null ? '' : `?token=${encodeURIComponent(token)}`
      const socket = await openRawSocket(`${server.wsUrl}/team-alpha${query}`)
      const frames: unknown[] = []
      socket.on('message', (frame) => frames.push(frame))
      const { code } = await closed(socket)
      assert.equal(code, status === 401 ? CloseCode.unauthorized : CloseCode.forbidden, what)
      assert.deepEqual(frames, [], `${what}: a refused client received frames`)
    }
  })

  it('[AU2] Hocuspocus: refused tokens get PermissionDenied and nothing of the document', async () => {
    const goodToken = await mintToken({ docs: ['open-doc'] })
    for (const [what, token] of await refusals()) {
      const socket = await openRawSocket(server.wsUrl)
      const frames = collectFrames(socket)
      socket.send(hocuspocusFrame('team-alpha', 2, 0, token ?? '', '4.8.0'))
      socket.send(hocuspocusFrame('team-alpha', 0, 0, Y.encodeStateVector(new Y.Doc())))
      // A document the token may open, on the same socket: once its sync arrives, anything
      // the refused document leaked would have arrived too.
      socket.send(hocuspocusFrame('open-doc', 2, 0, goodToken, '4.8.0'))
      socket.send(hocuspocusFrame('open-doc', 0, 0, Y.encodeStateVector(new Y.Doc())))
      // Tokens are checked concurrently, so wait for both answers: a leak about the refused
      // document could only come before its PermissionDenied, never after (its session ends).
      await frames.until((frame) => frame.key === 'open-doc' && frame.type === 0, what)
      await frames.until((frame) => frame.key === 'team-alpha' && frame.type === 2, what)
      const aboutRefused = frames.all.filter((frame) => frame.key === 'team-alpha')
      assert.deepEqual(aboutRefused.map((frame) => [frame.type, frame.authType]), [[2, 1]], what)
      assert.equal(socket.readyState, socket.OPEN, `${what}: the socket should stay open`)
      socket.close()
    }
  })

  it('[AU3] HTTP API: refused tokens get 401/403 with a JSON error and no content', async () => {
    for (const [what, token, status] of await refusals()) {
      const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
      const response = await fetch(`${server.url}/api/documents/team-alpha`, { headers })
      assert.equal(response.status, status, what)
      const body = (await response.json()) as { error: { code: string, message: string } }
      assert.equal(body.error.code, status === 401 ? 'unauthorized' : 'forbidden', what)
      assert.ok(!JSON.stringify(body).includes(SECRET_TEXT))
    }
    const malformed = await fetch(`${server.url}/api/documents/team-alpha`, { headers: { authorization: 'Basic abc' } })
    assert.equal(malformed.status, 401)
  })

  it('[AU4] a glob in docs opens matching documents on both endpoints and the API', async () => {
    const token = await mintToken({ docs: ['team-*'], role: 'write' })
    const ws = connectProvider(server.wsUrl, 'team-alpha', undefined, token)
    const hp = connectHocuspocus(server.wsUrl, 'team-alpha', { token })
    await Promise.all([synced(ws), hocuspocusSynced(hp)])
    assert.equal(ws.doc.getText('text').toString(), SECRET_TEXT)
    assert.equal(hp.document.getText('text').toString(), SECRET_TEXT)
    assert.equal(hp.authorizedScope, 'read-write')
    const response = await fetch(`${server.url}/api/documents/team-alpha`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(response.status, 200)
    disconnect(ws)
    disconnectHocuspocus(hp)
  })

  it('[AU5] read: receives everything, its edits are dropped on both endpoints', async () => {
    const readToken = await mintToken({ docs: ['team-alpha'], role: 'read', name: 'Reader' })
    const writeToken = await mintToken({ docs: ['team-alpha'], role: 'write' })
    const writer = connectProvider(server.wsUrl, 'team-alpha', undefined, writeToken)
    const wsReader = connectProvider(server.wsUrl, 'team-alpha', undefined, readToken)
    const hpReader = connectHocuspocus(server.wsUrl, 'team-alpha', { token: readToken })
    await Promise.all([synced(writer), synced(wsReader), hocuspocusSynced(hpReader)])
    assert.equal(hpReader.authorizedScope, 'readonly')
    const dropped = () => metricValue(server.metrics.readOnlyUpdatesDropped)
    const before = await dropped()

    wsReader.doc.getText('text').insert(0, 'READER-WS ')
    hpReader.document.getText('text').insert(0, 'READER-HP ')
    await eventually(async () => (await dropped()) >= before + 2, 'read-only updates were not seen')
    const serverText = server.registry.loaded('team-alpha')!.doc.getText('text').toString()
    assert.equal(serverText, SECRET_TEXT, 'a read-only edit reached the server document')

    writer.doc.getText('text').insert(SECRET_TEXT.length, ' (edited)')
    const expected = `${SECRET_TEXT} (edited)`
    await when(hpReader.document, 'update', () => hpReader.document.getText('text').toString().endsWith('(edited)'), 'reader did not follow')
    assert.equal(writer.doc.getText('text').toString(), expected, 'a read-only edit reached the writer')
    assert.equal(server.registry.loaded('team-alpha')!.doc.getText('text').toString(), expected)
    disconnect(writer, wsReader)
    disconnectHocuspocus(hpReader)
  })

  it('[AU6] admin: lists documents; write cannot', async () => {
    const admin = await mintToken({ docs: ['*'], role: 'admin' })
    const writer = await mintToken({ docs: ['*'], role: 'write' })
    const list = await fetch(`${server.url}/api/documents`, { headers: { authorization: `Bearer ${admin}` } })
    assert.equal(list.status, 200)
    const { documents } = (await list.json()) as { documents: Array<{ name: string, size: number }> }
    assert.ok(documents.some((doc) => doc.name === 'team-alpha' && doc.size > 0))
    const refused = await fetch(`${server.url}/api/documents`, { headers: { authorization: `Bearer ${writer}` } })
    assert.equal(refused.status, 403)
    const scoped = await mintToken({ docs: ['team-*'], role: 'admin' })
    assert.equal((await fetch(`${server.url}/api/documents`, { headers: { authorization: `Bearer ${scoped}` } })).status, 403)
  })

  it('[AU7] a token that expires while connected closes the connection with 4401, not before', { timeout: 10_000 }, async () => {
    // Date and setTimeout on a fake clock: the token's minute passes at once, to the millisecond.
    // A document no other test opened, so no timer armed before on the real clock is touched.
    mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.UTC(2030, 0, 1) })
    try {
      const token = await mintToken({ docs: ['team-expiring'], expiresIn: 60 })
      // Sync step 1 is sent after the session armed its expiry, and so is Authenticated. It may
      // come in one read with the upgrade, so the listener is there before the socket opens.
      const ws = new WebSocket(`${server.wsUrl}/team-expiring?token=${token}`)
      await once(ws, 'message')
      const hp = await openRawSocket(server.wsUrl)
      hp.send(hocuspocusFrame('team-expiring', 2, 0, token, '4.8.0'))
      await once(hp, 'message')
      const codes = Promise.all([ws, hp].map(async (socket) => (await once(socket, 'close'))[0] as number))
      mock.timers.tick(60_000 - 1)
      for (const socket of [ws, hp]) {
        await answered(socket)
        assert.equal(socket.readyState, socket.OPEN, 'closed before the token expired')
      }
      mock.timers.tick(1)
      assert.deepEqual(await codes, [CloseCode.unauthorized, CloseCode.unauthorized])
    } finally {
      mock.timers.reset()
    }
  })
})

/** Pings over the socket and resolves on the pong, or on a close that came before it. */
function answered(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('pong', () => resolve())
    socket.once('close', () => resolve())
    socket.ping()
  })
}

async function metricValue(metric: Counter): Promise<number> {
  return (await metric.get()).values.reduce((sum, entry) => sum + entry.value, 0)
}

interface DecodedFrame {
  key: string
  type: number
  authType: number | null
}

/** Decodes every Hocuspocus frame a raw socket receives. */
function collectFrames(socket: WebSocket) {
  const all: DecodedFrame[] = []
  const waiters: Array<() => void> = []
  socket.on('message', (data: Buffer) => {
    if (data.length === 1) return
    const decoder = decoding.createDecoder(new Uint8Array(data))
    const key = decoding.readVarString(decoder)
    const type = decoding.readVarUint(decoder)
    all.push({ key, type, authType: type === 2 ? decoding.readVarUint(decoder) : null })
    for (const waiter of waiters) waiter()
  })
  return {
    all,
    until(predicate: (frame: DecodedFrame) => boolean, what: string): Promise<void> {
      if (all.some(predicate)) return Promise.resolve()
      return withTimeout(
        new Promise<void>((resolve) => waiters.push(() => all.some(predicate) && resolve())),
        5000,
        `${what}: the expected frame never came`,
      )
    },
  }
}
