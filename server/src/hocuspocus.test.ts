import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as decoding from 'lib0/decoding'
import type * as Y from 'yjs'
import { JwtAuthenticator } from './auth/jwt-authenticator.js'
import { CloseCode } from './close-codes.js'
import { PING_FRAME } from './protocol/hocuspocus-codec.js'
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
import { ControlledStore } from './test-support/controlled-store.js'
import {
  connectHocuspocus,
  connectSocket,
  disconnectHocuspocus,
  hocuspocusFrame,
  hocuspocusSynced,
} from './test-support/hocuspocus.js'
import { startTestServer, temporaryDirectory } from './test-support/server.js'
import { mintToken, TEST_SECRET } from './test-support/tokens.js'

const text = (doc: Y.Doc) => doc.getText('text').toString()

describe('the stock @hocuspocus/provider', () => {
  it('[HP1] two providers sync, converge, and see each other\'s presence come and go', async () => {
    const server = await startTestServer()
    const ada = connectHocuspocus(server.wsUrl, 'hp-sync')
    const bob = connectHocuspocus(server.wsUrl, 'hp-sync')
    await Promise.all([hocuspocusSynced(ada), hocuspocusSynced(bob)])
    ada.document.getText('text').insert(0, 'from Ada')
    bob.document.getText('text').insert(0, 'from Bob ')
    await when(ada.document, 'update', () => text(ada.document).length === 17, 'Ada did not converge')
    await when(bob.document, 'update', () => text(bob.document) === text(ada.document), 'Bob did not converge')
    assert.equal(text(server.registry.loaded('hp-sync')!.doc), text(ada.document))

    ada.setAwarenessField('user', { name: 'Ada' })
    const adaId = ada.document.clientID
    await when(bob.awareness!, 'change', () => bob.awareness!.getStates().has(adaId), 'no presence')
    disconnectHocuspocus(ada)
    await when(bob.awareness!, 'change', () => !bob.awareness!.getStates().has(adaId), 'presence stayed')
    disconnectHocuspocus(bob)
    await server.stop()
  })

  it('[HP2] two documents share one socket, each with its own content', async () => {
    const server = await startTestServer()
    const socket = connectSocket(server.wsUrl)
    const first = connectHocuspocus(server.wsUrl, 'hp-first', { socket })
    const second = connectHocuspocus(server.wsUrl, 'hp-second', { socket })
    await Promise.all([hocuspocusSynced(first), hocuspocusSynced(second)])
    first.document.getText('text').insert(0, 'one')
    second.document.getText('text').insert(0, 'two')
    const reader = connectProvider(server.wsUrl, 'hp-second')
    await synced(reader)
    await when(reader.doc, 'update', () => text(reader.doc) === 'two', 'second document not stored')
    assert.equal(server.gateway.connections, 2, 'the two documents should share one socket')
    assert.equal(text(server.registry.loaded('hp-first')!.doc), 'one')
    disconnect(reader)
    disconnectHocuspocus(first, second)
    socket.destroy()
    await server.stop()
  })

  it('[HP3] hasUnsyncedChanges stays true until the store has the edit', async () => {
    const store = new ControlledStore()
    const server = await startTestServer({ store })
    const provider = connectHocuspocus(server.wsUrl, 'hp-saved')
    await hocuspocusSynced(provider)
    await when(provider, 'unsyncedChanges', () => !provider.hasUnsyncedChanges, 'the handshake was never acknowledged')
    store.holdAppends = true
    provider.document.getText('text').insert(0, 'saved?')
    assert.ok(provider.hasUnsyncedChanges)
    await eventually(() => store.heldCount === 1, 'the write did not start')
    assert.ok(provider.hasUnsyncedChanges, 'acknowledged before the store had it')
    store.release()
    await when(provider, 'unsyncedChanges', () => !provider.hasUnsyncedChanges, 'never acknowledged')
    assert.equal(store.appended.length, 1)
    disconnectHocuspocus(provider)
    await server.stop()
  })

  it('[HP4] after a server restart the provider reconnects and keeps editing', async () => {
    const dataDir = await temporaryDirectory()
    const first = await startTestServer({ dataDir: dataDir.path })
    const provider = connectHocuspocus(first.wsUrl, 'hp-restart')
    await hocuspocusSynced(provider)
    provider.document.getText('text').insert(0, 'before')
    await when(provider, 'unsyncedChanges', () => !provider.hasUnsyncedChanges, 'not saved')
    await first.stop()
    const second = await startTestServer({ dataDir: dataDir.path, port: first.port })
    await when(provider, 'synced', () => provider.synced, 'did not reconnect', 10_000)
    provider.document.getText('text').insert(6, ' and after')
    const reader = connectProvider(second.wsUrl, 'hp-restart')
    await synced(reader)
    await when(reader.doc, 'update', () => text(reader.doc) === 'before and after', 'the edit after the restart was lost')
    disconnect(reader)
    disconnectHocuspocus(provider)
    await second.stop()
    await dataDir.dispose()
  })

  it('[HP5] a bad token calls onAuthenticationFailed; a read token gets the readonly scope', async () => {
    const server = await startTestServer({ authenticator: new JwtAuthenticator(TEST_SECRET) })
    let reason = ''
    const refused = connectHocuspocus(server.wsUrl, 'hp-auth', { token: 'bad' })
    refused.on('authenticationFailed', (event: { reason: string }) => {
      reason = event.reason
    })
    await when(refused, 'authenticationFailed', () => reason !== '', 'no authenticationFailed')
    assert.match(reason, /not valid/)
    assert.equal(refused.synced, false)
    const reader = connectHocuspocus(server.wsUrl, 'hp-auth', { token: await mintToken({ role: 'read' }) })
    await hocuspocusSynced(reader)
    assert.equal(reader.authorizedScope, 'readonly')
    disconnectHocuspocus(refused, reader)
    await server.stop()
  })

  it('[HP6] a provider and a WebsocketProvider on one document share edits and presence', async () => {
    const server = await startTestServer()
    const hp = connectHocuspocus(server.wsUrl, 'mixed')
    const ws = connectProvider(server.wsUrl, 'mixed')
    await Promise.all([hocuspocusSynced(hp), synced(ws)])
    hp.document.getText('text').insert(0, 'hocuspocus ')
    ws.doc.getText('text').insert(0, 'y-websocket ')
    await when(hp.document, 'update', () => text(hp.document).length === 23, 'provider did not converge')
    await when(ws.doc, 'update', () => text(ws.doc) === text(hp.document), 'y-websocket did not converge')
    hp.setAwarenessField('user', { name: 'Hocus' })
    ws.awareness.setLocalStateField('user', { name: 'Socket' })
    await when(ws.awareness, 'change', () => ws.awareness.getStates().has(hp.document.clientID), 'no presence from hp')
    await when(hp.awareness!, 'change', () => hp.awareness!.getStates().has(ws.doc.clientID), 'no presence from ws')
    disconnect(ws)
    disconnectHocuspocus(hp)
    await server.stop()
  })

  it('[HP7] stateless messages are relayed to the document\'s other providers', async () => {
    const server = await startTestServer()
    const sender = connectHocuspocus(server.wsUrl, 'hp-stateless')
    const receiver = connectHocuspocus(server.wsUrl, 'hp-stateless')
    await Promise.all([hocuspocusSynced(sender), hocuspocusSynced(receiver)])
    const received = withTimeout(
      new Promise<string>((resolve) => receiver.on('stateless', ({ payload }: { payload: string }) => resolve(payload))),
      5000,
      'no stateless message',
    )
    sender.sendStateless('{"ping":1}')
    assert.equal(await received, '{"ping":1}')
    disconnectHocuspocus(sender, receiver)
    await server.stop()
  })

  it('[HP8] a socket that never authenticates is closed with 4408; an authenticated one stays and keeps getting pings', async () => {
    const server = await startTestServer({ authTimeoutMs: 100, pingIntervalMs: 50 })
    const silent = await openRawSocket(server.wsUrl)
    const silentPings: number[] = []
    silent.on('message', (frame: Buffer) => silentPings.push(frame.length))
    const live = await openRawSocket(server.wsUrl)
    live.send(hocuspocusFrame('hp-live', 2, 0, '', '4.8.0'))
    // Both sockets' auth timers start with their ping timers, 100 ms against every 50 ms:
    // by the fourth application ping the live socket's timer has fired too.
    let appPings = 0
    let socketPings = 0
    let liveClosed = false
    live.on('ping', () => socketPings++)
    const fourPingsOrClose = withTimeout(
      new Promise<void>((resolve) => {
        live.on('message', (frame: Buffer) => {
          if (frame.length === 1 && frame[0] === PING_FRAME[0] && ++appPings === 4) resolve()
        })
        live.once('close', () => {
          liveClosed = true
          resolve()
        })
      }),
      5000,
      'the authenticated socket stopped getting application pings',
    )
    assert.equal((await closed(silent)).code, CloseCode.authenticationTimeout)
    assert.ok(silentPings.includes(1), 'no application ping arrived before the timeout')
    await fourPingsOrClose
    assert.equal(liveClosed, false, 'the authenticated socket was closed')
    assert.ok(socketPings > 0, 'no WebSocket ping arrived')
    live.close()
    await server.stop()
  })

  it('[HP9] 500 documents on one socket all sync, with a token each, and again after a server restart', async () => {
    const directory = await temporaryDirectory()
    const options = { dataDir: directory.path, authenticator: new JwtAuthenticator(TEST_SECRET) }
    let server = await startTestServer(options)
    const token = await mintToken({ docs: ['many-*'] })
    const socket = connectSocket(server.wsUrl)
    const providers = Array.from({ length: 500 }, (_, i) => connectHocuspocus(server.wsUrl, `many-${i}`, { token, socket }))
    await Promise.all(providers.map((provider) => hocuspocusSynced(provider, 20_000)))
    providers[499]!.document.getText('text').insert(0, 'the last one')
    const lastText = () => server.registry.loaded('many-499')?.doc.getText('text').toString()
    await eventually(() => lastText() === 'the last one', 'the edit did not arrive')
    const port = server.port
    await server.stop()
    // Every provider re-authenticates at once when the socket reconnects.
    server = await startTestServer({ ...options, port })
    await eventually(() => server.registry.size === 500, 'not every document reopened', 20_000)
    await eventually(() => lastText() === 'the last one', 'the restarted server lost the edit')
    disconnectHocuspocus(...providers)
    socket.destroy()
    await server.stop()
    await directory.dispose()
  })

  it('[HP10] a second token for an open document changes its scope; a bad one closes that document only', async () => {
    const server = await startTestServer({ authenticator: new JwtAuthenticator(TEST_SECRET) })
    const read = await mintToken({ docs: ['scoped'], role: 'read' })
    const write = await mintToken({ docs: ['scoped', 'other'] })
    const socket = await openRawSocket(server.wsUrl)
    const answers: string[] = []
    socket.on('message', (frame: Buffer) => {
      const answer = readAuthAnswer(frame)
      if (answer !== null) answers.push(answer)
    })
    const auth = (key: string, token: string) => socket.send(hocuspocusFrame(key, 2, 0, token, '4.8.0'))
    auth('scoped', read)
    auth('other', write)
    await eventually(() => answers.length === 2, 'no answer to the first tokens')
    assert.deepEqual(answers.sort(), ['other:authenticated:read-write', 'scoped:authenticated:readonly'])
    auth('scoped', write)
    await eventually(() => answers.length === 3, 'no answer to the upgrade')
    assert.equal(answers[2], 'scoped:authenticated:read-write')
    auth('scoped', 'not-a-token')
    await eventually(() => answers.length === 4, 'no answer to the bad token')
    assert.match(answers[3]!, /^scoped:permission-denied/)
    assert.equal(socket.readyState, socket.OPEN, 'the other document\'s socket was closed')
    socket.close()
    await server.stop()
  })
})

/** `key:authenticated:scope` or `key:permission-denied:reason` from a Hocuspocus auth frame, else null. */
function readAuthAnswer(frame: Uint8Array): string | null {
  if (frame.byteLength < 2) return null
  const decoder = decoding.createDecoder(frame)
  const key = decoding.readVarString(decoder)
  if (decoding.readVarUint(decoder) !== 2) return null
  const kind = decoding.readVarUint(decoder)
  const detail = decoding.readVarString(decoder)
  return `${key}:${kind === 2 ? 'authenticated' : 'permission-denied'}:${detail}`
}
