import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { connect as connectTcp } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { connect as connectTls, type TLSSocket } from 'node:tls'
import { runRefusedServer, startChildServer } from './test-support/child-server.js'
import { disconnect, eventually, synced, when, withTimeout } from './test-support/clients.js'
import { startTestServer, temporaryDirectory } from './test-support/server.js'
import { connectSecureProvider, httpsGet, selfSignedCertificate, type TestCertificate } from './test-support/tls.js'

interface TlsConnection {
  readonly socket: TLSSocket
  readonly closed: Promise<unknown>
  received(): string
}

/** A TLS connection to 127.0.0.1 trusting only `ca`, once its handshake is done. */
async function tlsConnection(port: number, ca: Buffer): Promise<TlsConnection> {
  const socket = connectTls({ host: '127.0.0.1', port, ca })
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    received += chunk
  })
  const closed = once(socket, 'close')
  await once(socket, 'secureConnect')
  return { socket, closed, received: () => received }
}

/** Sends one raw request over TLS and resolves with everything the server answered. */
async function tlsRequest(port: number, ca: Buffer, request: string): Promise<string> {
  const connection = await tlsConnection(port, ca)
  connection.socket.write(request)
  await withTimeout(connection.closed, 5_000, 'the server did not answer and close')
  return connection.received()
}

describe('TLS served by Tandem itself', () => {
  let certificate: TestCertificate
  before(async () => {
    certificate = await selfSignedCertificate()
  })
  after(async () => {
    await certificate.dispose()
  })

  it('[TL3] with TLS_CERT_FILE and TLS_KEY_FILE it serves https, says its url is https://, and wss syncs a stock y-websocket client', async () => {
    const dataDir = await temporaryDirectory()
    const server = await startChildServer({
      DATA_DIR: dataDir.path,
      TLS_CERT_FILE: certificate.certFile,
      TLS_KEY_FILE: certificate.keyFile,
    })
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.match(server.wsUrl, /^wss:\/\//)
    const health = await httpsGet(`${server.url}/healthz`, certificate.cert)
    assert.deepEqual({ status: health.status, body: JSON.parse(health.body) }, { status: 200, body: { status: 'ok' } })
    // Plain HTTP on the TLS port gets no answer.
    await assert.rejects(fetch(`${server.url.replace('https', 'http')}/healthz`))

    const writer = connectSecureProvider(server.wsUrl, 'over-tls', certificate.cert)
    const reader = connectSecureProvider(server.wsUrl, 'over-tls', certificate.cert)
    await Promise.all([synced(writer), synced(reader)])
    writer.doc.getText('text').insert(0, 'sent over wss')
    await when(reader.doc, 'update', () => reader.doc.getText('text').toString() === 'sent over wss', 'not relayed over wss')
    disconnect(writer, reader)
    server.process.kill('SIGTERM')
    assert.equal((await withTimeout(server.exited, 10_000, 'did not exit')).code, 0)
    await dataDir.dispose()
  })

  it('[TL4] one TLS variable alone, or a TLS file that cannot be used, stops start-up with one line naming the variable', async () => {
    const absent = `${certificate.directory}/absent.pem`
    const { certFile, keyFile } = certificate
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ TLS_CERT_FILE: certFile }, /TLS_KEY_FILE is missing: TLS_CERT_FILE is set/],
      [{ TLS_KEY_FILE: keyFile }, /TLS_CERT_FILE is missing: TLS_KEY_FILE is set/],
      [{ TLS_CERT_FILE: absent, TLS_KEY_FILE: keyFile }, /TLS_CERT_FILE \S+ cannot be read: ENOENT/],
      [{ TLS_CERT_FILE: certFile, TLS_KEY_FILE: certFile }, /TLS_KEY_FILE \S+ is not a PEM private key: \S/],
    ]
    for (const [env, line] of cases) {
      const { code, stderr } = await runRefusedServer(env)
      assert.equal(code, 1, stderr)
      assert.equal(stderr.trim().split('\n').length, 1, stderr)
      assert.match(stderr, new RegExp(`^tandem: invalid configuration: ${line.source}`))
    }
  })

  it('[TL8] over TLS the connection guard works as over HTTP: silent connections and stalled handshakes are closed after the header timeout, and past MAX_CONNECTIONS requests and upgrades get 503 while /healthz answers', async () => {
    const tls = { cert: certificate.cert, key: await readFile(certificate.keyFile) }
    const timed = await startTestServer({ tls, headersTimeoutMs: 300 })
    const silent = await tlsConnection(timed.port, certificate.cert)
    const noHandshake = connectTcp(timed.port, '127.0.0.1')
    const started = Date.now()
    await withTimeout(Promise.all([silent.closed, once(noHandshake, 'close')]), 5_000, 'silent connections stayed open')
    assert.ok(Date.now() - started < 3_000, 'closed too late')
    await timed.stop()

    const capped = await startTestServer({ tls, maxConnections: 2, headersTimeoutMs: 5_000 })
    const held = await Promise.all([1, 2].map(() => tlsConnection(capped.port, certificate.cert)))
    const api = await tlsRequest(capped.port, certificate.cert, 'GET /api/documents HTTP/1.1\r\nHost: localhost\r\n\r\n')
    assert.match(api, /^HTTP\/1.1 503/)
    assert.match(api, /"too_many_connections"/)
    const upgrade = await tlsRequest(
      capped.port,
      certificate.cert,
      'GET /collab/doc HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    assert.match(upgrade, /^HTTP\/1.1 503/)
    const health = await tlsRequest(capped.port, certificate.cert, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    assert.match(health, /^HTTP\/1.1 200/)
    for (const connection of held) connection.socket.destroy()
    await Promise.all(held.map((connection) => connection.closed))
    await eventually(
      async () => (await httpsGet(`${capped.url}/api/documents`, certificate.cert)).status === 200,
      'still refused after the others left',
    )
    await capped.stop()
  })
})
