import { connect as connectTcp, type Socket } from 'node:net'
import type { EventEmitter } from 'node:events'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

/** The stock y-websocket client, with Node's `ws` and no BroadcastChannel shortcut. */
export function connectProvider(
  wsUrl: string,
  name: string,
  doc = new Y.Doc(),
  token?: string,
): WebsocketProvider {
  return new WebsocketProvider(wsUrl, name, doc, {
    params: token === undefined ? {} : { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    // In one process a BroadcastChannel would sync the documents without the server.
    disableBc: true,
    maxBackoffTime: 100,
  })
}

/** Resolves when the provider has completed the sync handshake. */
export function synced(provider: WebsocketProvider, timeoutMs = 5000): Promise<void> {
  if (provider.synced) return Promise.resolve()
  return withTimeout(
    new Promise((resolve) => {
      const onSync = (isSynced: boolean) => {
        if (!isSynced) return
        provider.off('sync', onSync)
        resolve()
      }
      provider.on('sync', onSync)
    }),
    timeoutMs,
    'provider did not sync',
  )
}

/**
 * Resolves when `condition` holds, checking it now and whenever `emitter` emits `event`.
 * Rejects with `message` after `timeoutMs`.
 */
export function when(
  emitter:
    | Pick<EventEmitter, 'on' | 'off'>
    | { on(event: string, f: () => void): void, off(event: string, f: () => void): void },
  event: string,
  condition: () => boolean,
  message: string,
  timeoutMs = 5000,
): Promise<void> {
  if (condition()) return Promise.resolve()
  let listener: () => void = () => {}
  const promise = new Promise<void>((resolve) => {
    listener = () => {
      if (condition()) resolve()
    }
    emitter.on(event, listener)
  })
  return withTimeout(promise, timeoutMs, message).finally(() => emitter.off(event, listener))
}

/** Resolves when every doc has seen the same inserts and deletes as `docs[0]`. */
export function converged(docs: readonly Y.Doc[], timeoutMs = 10_000): Promise<void> {
  const same = () => {
    const first = Y.snapshot(docs[0]!)
    return docs.every((doc) => Y.equalSnapshots(first, Y.snapshot(doc)))
  }
  // Any doc's update can make them all equal, so every doc's updates re-check.
  const all = {
    on: (event: string, listener: () => void) => {
      for (const doc of docs) doc.on(event as 'update', listener)
    },
    off: (event: string, listener: () => void) => {
      for (const doc of docs) doc.off(event as 'update', listener)
    },
  }
  return when(all, 'update', same, 'documents did not converge', timeoutMs)
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A raw WebSocket, for sending what no stock client would. */
export async function openRawSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  return socket
}

/** Resolves with the close code and reason the server sent. */
export function closed(
  socket: WebSocket,
  timeoutMs = 5000,
): Promise<{ code: number, reason: string }> {
  return withTimeout(
    new Promise((resolve) => {
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    }),
    timeoutMs,
    'socket was not closed',
  )
}

/**
 * Resolves when `condition` holds, checking every few milliseconds. Only for state that
 * announces no event (the registry's rooms); everything else waits for its event.
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  message: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Closes providers for good: their sockets, timers and awareness. */
export function disconnect(...providers: WebsocketProvider[]): void {
  for (const provider of providers) {
    provider.destroy()
    // The awareness keeps an interval running until it is destroyed itself.
    provider.awareness.destroy()
  }
}

/** A WebSocket upgrade done by hand, then nothing read: a client that cannot keep up. */
export async function stalledClient(port: number, path: string): Promise<Socket> {
  const socket = connectTcp(port, '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  )
  await new Promise<void>((resolve) => socket.once('data', () => resolve()))
  socket.pause()
  return socket
}
