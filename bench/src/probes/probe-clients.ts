// The probe's clients speak the bench's frames (`Frames`) over plain `ws` sockets: a stalled
// client only has to join and then pause, and the writer only has to send updates. Probes that
// need a real client's behaviour (reconnecting, resyncing) use the stock `WebsocketProvider`.
import { randomBytes } from 'node:crypto'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import type { Frames } from '../load/frames.js'

const UPDATE_BYTES = 64 * 1024
const UPDATES_PER_SECOND = 50
const JOIN_TIMEOUT_MS = 10_000

/** What the writer sends: one update of about this many bytes, this many times a second. */
export const load = { updateBytes: UPDATE_BYTES, updatesPerSecond: UPDATES_PER_SECOND } as const

/** A joined socket; `closed` is what the client itself saw, which a paused client never does. */
export interface Client {
  readonly ws: WebSocket
  localPort: number
  closed: { code: number, at: number } | null
  error: string | null
}

/** Opens a socket, sends the protocol's hello, and resolves once sync step 2 has arrived. */
export function join(url: string, frames: Frames): Promise<Client> {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  const client: Client = { ws, localPort: 0, closed: null, error: null }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`${url}: no sync step 2 within ${JOIN_TIMEOUT_MS} ms`))
    }, JOIN_TIMEOUT_MS)
    const onMessage = (data: Buffer) => {
      if (!frames.isSyncStep2(data)) return
      clearTimeout(timer)
      ws.off('message', onMessage)
      resolve(client)
    }
    ws.on('message', onMessage)
    ws.once('upgrade', (response) => {
      client.localPort = response.socket.localPort ?? 0
    })
    ws.once('open', () => {
      for (const frame of frames.hello()) ws.send(frame)
    })
    ws.on('error', (error) => {
      client.error = error.message
      clearTimeout(timer)
      reject(error)
    })
    ws.on('close', (code) => {
      client.closed ??= { code, at: Date.now() }
      clearTimeout(timer)
      reject(new Error(`${url}: closed with ${code} before sync step 2`))
    })
  })
}

/** Overwrites one map key with ~64 KB of new text, 50 times a second, until stopped. */
export function startWriting(writer: Client, frames: Frames): { stop(): void, sent(): number } {
  const doc = new Y.Doc()
  const blob = doc.getMap<string>('blob')
  let sent = 0
  let stopped = false
  doc.on('update', (update: Uint8Array) => {
    if (writer.ws.readyState !== WebSocket.OPEN) return
    writer.ws.send(frames.update(update))
    sent++
  })
  // base64 writes 4 characters for every 3 bytes
  const text = () => randomBytes((UPDATE_BYTES * 3) / 4).toString('base64')
  const timer = setInterval(() => blob.set('text', text()), 1000 / UPDATES_PER_SECOND)
  return {
    stop: () => {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      doc.destroy()
    },
    sent: () => sent,
  }
}

/** The stock y-websocket client over Node's `ws`; `reconnect: false` stays closed once the server closes it. */
export function connectProvider(url: string, document: string, doc: Y.Doc, token: string, reconnect = true): WebsocketProvider {
  return new WebsocketProvider(url, document, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    // In one process a BroadcastChannel would sync the documents without the server.
    disableBc: true,
    shouldReconnect: () => reconnect,
  })
}

/** Resolves once `ready()` holds, checked every 50 ms; rejects after `timeoutMs`. */
export async function until(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(50)
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
