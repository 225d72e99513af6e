import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { WebSocket, type ClientOptions } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { temporaryDirectory } from './server.js'

/** A throwaway self-signed certificate for localhost and 127.0.0.1, in its own directory. */
export interface TestCertificate {
  readonly certFile: string
  readonly keyFile: string
  /** The certificate, to be trusted as the only CA. */
  readonly cert: Buffer
  readonly directory: string
  dispose(): Promise<void>
}

/** Generates a certificate with `openssl`, valid one day. */
export async function selfSignedCertificate(): Promise<TestCertificate> {
  const directory = await temporaryDirectory()
  const certFile = join(directory.path, 'cert.pem')
  const keyFile = join(directory.path, 'key.pem')
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1',
    '-keyout', keyFile, '-out', certFile,
  ])
  const cert = await readFile(certFile)
  return { certFile, keyFile, cert, directory: directory.path, dispose: directory.dispose }
}

/** A GET over https trusting only `ca`; resolves with the status and body. */
export function httpsGet(url: string, ca: Buffer): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      response.on('error', reject)
    }).on('error', reject).end()
  })
}

/** Node's `ws` WebSocket that trusts only `ca`, as a class y-websocket can construct. */
function trustingWebSocket(ca: Buffer) {
  return class TrustingWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[], options?: ClientOptions) {
      super(url, protocols, { ...options, ca })
    }
  }
}

/** The stock y-websocket client over `wss://`, trusting only `ca`. */
export function connectSecureProvider(
  wssUrl: string,
  name: string,
  ca: Buffer,
  doc = new Y.Doc(),
): WebsocketProvider {
  return new WebsocketProvider(wssUrl, name, doc, {
    WebSocketPolyfill: trustingWebSocket(ca) as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 100,
  })
}
