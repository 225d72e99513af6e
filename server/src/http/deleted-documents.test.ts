import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type HocuspocusProvider, WebSocketStatus } from '@hocuspocus/provider'
import { LevelDbStore } from '@tandem/persistence/leveldb-store'
import type { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { JwtAuthenticator } from '../auth/jwt-authenticator.js'
import { CloseCode, reasonFor } from '../close-codes.js'
import { closed, connectProvider, converged, disconnect, eventually, openRawSocket, synced, when, withTimeout } from '../test-support/clients.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from '../test-support/hocuspocus.js'
import { startTestServer, temporaryDirectory } from '../test-support/server.js'
import { mintToken, TEST_SECRET } from '../test-support/tokens.js'

/** Resolves with the code and reason of the next close the stock y-websocket client sees. */
function nextClose(provider: WebsocketProvider): Promise<{ code: number, reason: string }> {
  return withTimeout(
    new Promise((resolve) => {
      const onClose = (event: { code: number, reason: string } | null) => {
        if (event === null) return
        provider.off('connection-close', onClose)
        resolve({ code: event.code, reason: event.reason })
      }
      provider.on('connection-close', onClose)
    }),
    5000,
    'the provider was not closed',
  )
}

/** Resolves with the reason of the next Close message, or the next refusal, for a Hocuspocus document. */
function nextHocuspocusEnd(provider: HocuspocusProvider, event: 'close' | 'authenticationFailed'): Promise<string> {
  return withTimeout(
    new Promise((resolve) => {
      const handler = (data: { event?: { reason: string }, reason?: string }) => {
        provider.off(event, handler)
        resolve(data.event?.reason ?? data.reason ?? '')
      }
      provider.on(event, handler)
    }),
    5000,
    `the provider got no ${event}`,
  )
}

function typeInto(doc: Y.Doc, text: string): void {
  const fragment = doc.getXmlFragment('default')
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.insert(0, [new Y.XmlText(text)])
  fragment.insert(fragment.length, [paragraph])
}

describe('deleted documents stay deleted', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let directory: Awaited<ReturnType<typeof temporaryDirectory>>
  let store: LevelDbStore
  let admin: string
  let writer: string
  const api = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${init.token ?? admin}`)
    return fetch(`${server.url}/api/documents${path}`, { ...init, headers })
  }
  const put = (name: string, markdown: string) =>
    api(`/${name}/content`, { method: 'PUT', headers: { 'content-type': 'text/markdown' }, body: markdown })
  /** The document's text as the HTTP API exports it, or null for a 404. */
  const text = async (name: string): Promise<string | null> => {
    const response = await api(`/${name}/content?format=text`)
    if (response.status === 404) return null
    assert.equal(response.status, 200)
    return response.text()
  }
  /** Nothing of the document in the store, the API, or a room. */
  const assertGone = async (name: string) => {
    assert.equal((await api(`/${name}`)).status, 404, 'GET should stay 404')
    assert.equal(await text(name), null)
    assert.equal(await store.load(name), null, 'the store has the document again')
    assert.equal(await store.info(name), null)
    assert.ok(!(await store.list()).some((entry) => entry.name === name))
  }

  before(async () => {
    // A real LevelDB store, which the test reads behind the server's back.
    directory = await temporaryDirectory()
    store = new LevelDbStore(directory.path)
    server = await startTestServer({ store, authenticator: new JwtAuthenticator(TEST_SECRET) })
    admin = await mintToken({ role: 'admin', sub: 'admin' })
    writer = await mintToken({ role: 'write', sub: 'wendy' })
  })
  after(async () => {
    await server.stop()
    await directory.dispose()
  })

  it('[DD1] a stock y-websocket client of a deleted document is closed with 4404 and cannot re-create it by reconnecting', async () => {
    assert.equal((await put('dd1', 'Before the delete.')).status, 200)
    const doc = new Y.Doc()
    const provider = connectProvider(server.wsUrl, 'dd1', doc, writer)
    try {
      await synced(provider)
      assert.match(doc.getXmlFragment('default').toString(), /Before the delete/)
      const closing = nextClose(provider)
      assert.equal((await api('/dd1', { method: 'DELETE' })).status, 204)
      const deleted = { code: CloseCode.documentDeleted, reason: reasonFor(CloseCode.documentDeleted) }
      assert.deepEqual(await closing, deleted)
      // Typed after the delete, then the client reconnects on purpose, several times.
      typeInto(doc, 'Typed after the delete.')
      for (let attempt = 0; attempt < 3; attempt++) {
        const again = nextClose(provider)
        provider.connect()
        assert.equal((await again).code, CloseCode.documentDeleted, `reconnect ${attempt}`)
      }
      assert.equal(provider.synced, false)
      await assertGone('dd1')
    } finally {
      disconnect(provider)
    }
  })

  it('[DD2] a stock Hocuspocus provider of a deleted document gets its Close message, then is refused on every reconnect', async () => {
    assert.equal((await put('dd2', 'Before the delete.')).status, 200)
    const doc = new Y.Doc()
    const provider = connectHocuspocus(server.wsUrl, 'dd2', { token: writer, doc })
    const socket = provider.configuration.websocketProvider
    try {
      await hocuspocusSynced(provider)
      const closing = nextHocuspocusEnd(provider, 'close')
      assert.equal((await api('/dd2', { method: 'DELETE' })).status, 204)
      assert.equal(await closing, reasonFor(CloseCode.documentDeleted))
      // Frames the provider still sends for it on the same socket are dropped.
      typeInto(doc, 'Typed after the delete.')
      for (let attempt = 0; attempt < 2; attempt++) {
        // The socket drops and comes back, as on a flaky network: the provider authenticates again.
        const refused = nextHocuspocusEnd(provider, 'authenticationFailed')
        socket.disconnect()
        await when(socket, 'status', () => socket.status === WebSocketStatus.Disconnected, 'the socket did not close')
        await socket.connect()
        assert.equal(await refused, reasonFor(CloseCode.documentDeleted), `reconnect ${attempt}`)
        typeInto(doc, `Typed after reconnect ${attempt}.`)
      }
      assert.equal(provider.isSynced, false)
      await assertGone('dd2')
    } finally {
      disconnectHocuspocus(provider)
    }
  })

  it('[DD3] joining a deleted document is refused with 4404 before any frame, whatever the token', async () => {
    assert.equal((await put('dd3', 'Soon gone.')).status, 200)
    assert.equal((await api('/dd3', { method: 'DELETE' })).status, 204)
    for (const token of [writer, admin, await mintToken({ role: 'read', sub: 'rita' })]) {
      const socket = await openRawSocket(`${server.wsUrl}/dd3?token=${token}`)
      const frames: unknown[] = []
      socket.on('message', (frame) => frames.push(frame))
      assert.equal((await closed(socket)).code, CloseCode.documentDeleted)
      assert.deepEqual(frames, [], 'a refused client was sent something of the document')
    }
    assert.equal(server.registry.loaded('dd3'), undefined)
    await assertGone('dd3')
  })

  it('[DD4] creating the name again on purpose (POST, or PUT content) clears the deletion; then clients join it', async () => {
    for (const [name, create] of [
      ['dd4-post', () => api('?name=dd4-post', { method: 'POST', headers: { 'content-type': 'text/markdown' }, body: 'Second life.' })],
      ['dd4-put', () => put('dd4-put', 'Second life.')],
    ] as const) {
      assert.equal((await put(name, 'First life.')).status, 200)
      assert.equal((await api(`/${name}`, { method: 'DELETE' })).status, 204)
      const created = await create()
      assert.ok([200, 201].includes(created.status), `${name}: created again, ${created.status} ${await created.text()}`)
      assert.equal((await text(name))?.trim(), 'Second life.', `${name}: nothing of the first life came back`)
      const docs = [new Y.Doc(), new Y.Doc()]
      const websocket = connectProvider(server.wsUrl, name, docs[0], writer)
      const hocuspocus = connectHocuspocus(server.wsUrl, name, { token: writer, doc: docs[1] })
      try {
        await Promise.all([synced(websocket), hocuspocusSynced(hocuspocus)])
        typeInto(docs[0]!, 'Typed in the second life.')
        await converged(docs)
        await eventually(async () => (await text(name))?.includes('Typed in the second life.') ?? false, `${name}: the edit was not stored`)
        assert.equal(await store.isDeleted(name), false)
      } finally {
        disconnect(websocket)
        disconnectHocuspocus(hocuspocus)
      }
    }
  })

  it('[DD5] a document deleted while nobody has it loaded stays deleted too', async () => {
    assert.equal((await put('dd5', 'Unloaded.')).status, 200)
    await eventually(() => server.registry.loaded('dd5')?.peerCount === 0, 'the room did not settle')
    assert.equal((await api('/dd5', { method: 'DELETE' })).status, 204)
    const doc = new Y.Doc()
    typeInto(doc, 'An old offline copy.')
    const provider = connectProvider(server.wsUrl, 'dd5', doc, writer)
    try {
      assert.equal((await nextClose(provider)).code, CloseCode.documentDeleted)
      await assertGone('dd5')
    } finally {
      disconnect(provider)
    }
  })
})
