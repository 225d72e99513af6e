import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import { JwtAuthenticator } from './auth/jwt-authenticator.js'
import { CloseCode } from './close-codes.js'
import {
  closed,
  connectProvider,
  disconnect,
  eventually,
  openRawSocket,
  stalledClient,
  synced,
  withTimeout,
} from './test-support/clients.js'
import { ControlledStore } from './test-support/controlled-store.js'
import { hocuspocusFrame } from './test-support/hocuspocus.js'
import { startTestServer } from './test-support/server.js'
import { mintToken, TEST_SECRET } from './test-support/tokens.js'

const KIB = 1024

/** A Hocuspocus sync update frame for `key` carrying about `bytes` of text. */
function updateFrame(key: string, bytes: number): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('text').insert(0, 'x'.repeat(bytes))
  return hocuspocusFrame(key, 0, 2, Y.encodeStateAsUpdate(doc))
}

const authFrame = (key: string, token: string) => hocuspocusFrame(key, 2, 0, token, '4.8.0')

describe('what a client may make the server hold before a document opens', () => {
  it('[CL1] frames waiting for authentication are bounded in bytes per socket (1008), and freed', async () => {
    const server = await startTestServer({
      authenticator: new JwtAuthenticator(TEST_SECRET),
      maxQueuedBytesPerSocket: 256 * KIB,
    })
    const socket = await openRawSocket(server.wsUrl)
    const closing = closed(socket)
    for (let i = 0; i < 4; i++) socket.send(updateFrame('never-authenticated', 100 * KIB))
    assert.equal((await closing).code, CloseCode.policyViolation)
    await eventually(() => server.gateway.queuedBytes === 0, 'the queued frames were kept')
    await server.stop()
  })

  it('[CL2] across sockets the server holds at most its own budget; past it, close 1013', async () => {
    const server = await startTestServer({
      authenticator: new JwtAuthenticator(TEST_SECRET),
      maxQueuedBytesPerSocket: 256 * KIB,
      maxQueuedBytes: 300 * KIB,
    })
    const first = await openRawSocket(server.wsUrl)
    first.send(updateFrame('waiting-1', 200 * KIB))
    await eventually(() => server.gateway.queuedBytes > 200 * KIB, 'the first frame was not queued')
    const second = await openRawSocket(server.wsUrl)
    second.send(updateFrame('waiting-2', 200 * KIB))
    assert.equal((await closed(second)).code, CloseCode.tryAgainLater)
    assert.equal(first.readyState, first.OPEN)
    first.close()
    await eventually(() => server.gateway.queuedBytes === 0, 'the queued frames were kept')
    await server.stop()
  })

  it('[CL3] each document must authenticate in time, whatever another document on the socket did', async () => {
    const server = await startTestServer({
      authenticator: new JwtAuthenticator(TEST_SECRET),
      authTimeoutMs: 200,
    })
    const token = await mintToken({ docs: ['open-doc'] })
    const socket = await openRawSocket(server.wsUrl)
    const closing = closed(socket, 3000)
    socket.send(authFrame('open-doc', token))
    socket.send(updateFrame('never-authenticated', 10))
    assert.equal((await closing).code, CloseCode.authenticationTimeout)
    await server.stop()
  })

  it('[CL4] a y-websocket client waiting for a slow document is held to the same byte bound', async () => {
    const store = new ControlledStore()
    store.holdLoads = true
    const server = await startTestServer({
      store,
      authenticator: new JwtAuthenticator(TEST_SECRET),
      maxQueuedBytesPerSocket: 256 * KIB,
    })
    const token = await mintToken({ docs: ['*'] })
    const doc = new Y.Doc()
    doc.getText('text').insert(0, 'x'.repeat(100 * KIB))
    // y-websocket's update frame: sync (0), update (2), the update.
    const update = Y.encodeStateAsUpdate(doc)
    const frame = new Uint8Array([0, 2, ...varUint(update.byteLength), ...update])
    const socket = await openRawSocket(`${server.wsUrl}/slow?token=${token}`)
    const closing = closed(socket)
    for (let i = 0; i < 4; i++) socket.send(frame)
    const { code } = await closing
    assert.equal(code, CloseCode.policyViolation)
    await eventually(() => server.gateway.queuedBytes === 0, 'the queued frames were kept')
    store.release()
    await server.stop()
  })
})

function varUint(value: number): number[] {
  const bytes: number[] = []
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80)
    value >>>= 7
  }
  bytes.push(value)
  return bytes
}

describe('connections that hold a file descriptor', () => {
  it('[CL5] a connection that sends nothing, or half an upgrade, is closed after the header timeout; /healthz answers meanwhile', async () => {
    const server = await startTestServer({ headersTimeoutMs: 300 })
    const silent = await rawConnection(server.port)
    const half = await rawConnection(server.port)
    half.socket.write('GET /collab/x HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n')
    const started = Date.now()
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200)
    await Promise.all([silent.closed, half.closed])
    assert.ok(Date.now() - started < 3000, 'closed too late')
    assert.match(half.received(), /^HTTP\/1.1 408/)
    await server.stop()
  })

  it('[CL6] past MAX_CONNECTIONS requests and upgrades get 503 with a JSON error, /healthz still answers', async () => {
    const server = await startTestServer({ maxConnections: 3, headersTimeoutMs: 5000 })
    const held = await Promise.all([1, 2, 3].map(() => rawConnection(server.port)))
    const api = await rawRequest(server.port, 'GET /api/documents HTTP/1.1\r\nHost: localhost\r\n\r\n')
    assert.match(api, /^HTTP\/1.1 503/)
    assert.match(api, /"too_many_connections"/)
    const upgrade = await rawRequest(
      server.port,
      'GET /collab/doc HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    assert.match(upgrade, /^HTTP\/1.1 503/)
    const health = await rawRequest(server.port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    assert.match(health, /^HTTP\/1.1 200/)
    for (const connection of held) connection.socket.destroy()
    await Promise.all(held.map((connection) => connection.closed))
    await eventually(async () => (await fetch(`${server.url}/api/documents`)).status === 200, 'still refused after the others left')
    await server.stop()
  })
})

describe('what the server holds for clients that do not read', () => {
  it('[CL7] past the server-wide send budget, clients holding over 1 MiB are closed though each is under its own limit', async () => {
    const server = await startTestServer({ maxBufferedBytes: 1024 ** 3, maxSendBytes: 2 * 1024 * 1024 })
    const writer = connectProvider(server.wsUrl, 'budget')
    await synced(writer)
    const stalled = await Promise.all([1, 2].map(() => stalledClient(server.port, '/collab/budget')))
    await eventually(() => server.registry.loaded('budget')?.peerCount === 3, 'stalled clients not joined')
    const chunk = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 800 && server.registry.loaded('budget')?.peerCount !== 1; i++) {
      writer.doc.getText('text').insert(0, chunk)
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await eventually(() => server.registry.loaded('budget')?.peerCount === 1, 'the stalled clients were kept')
    assert.ok(writer.wsconnected, 'the writer, which reads, was closed')
    for (const socket of stalled) socket.destroy()
    disconnect(writer)
    await server.stop()
  })
})

/** A TCP connection that sends only what the test writes, and records what comes back. */
async function rawConnection(port: number) {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  const closed = withTimeout(once(socket, 'close').then(() => undefined), 10_000, 'the server kept the connection')
  return { socket, closed, received: () => Buffer.concat(chunks).toString() }
}

/** Sends one raw request and resolves with everything received until the server closes. */
async function rawRequest(port: number, request: string): Promise<string> {
  const connection = await rawConnection(port)
  connection.socket.write(request)
  await connection.closed
  return connection.received()
}
