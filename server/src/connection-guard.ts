import { readFileSync } from 'node:fs'
import type { IncomingMessage, Server } from 'node:http'
import { Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'

export interface ConnectionGuardOptions {
  /** Connections served at once; requests and upgrades on connections past it get 503. */
  readonly maxConnections: number
  /** A connection that has sent no byte this long after opening is closed. */
  readonly firstByteTimeoutMs: number
}

/** Paths answered even past the connection cap, so a supervisor can tell busy from dead. */
const ALWAYS_ANSWERED = new Set(['/healthz'])

/**
 * Keeps file descriptors for people who use them. Node closes half-sent request headers
 * after `headersTimeout`, but a connection that never sends a byte has no request for that
 * timer to run on: it is closed here. Past `maxConnections` a connection is still accepted
 * (so it can be told 503 rather than reset), and past a little headroom above that Node
 * drops new ones at once.
 */
export class ConnectionGuard {
  readonly #over = new WeakSet<Socket>()
  #open = 0

  constructor(server: Server | HttpsServer, private readonly options: ConnectionGuardOptions) {
    server.maxConnections = options.maxConnections + Math.max(16, Math.ceil(options.maxConnections / 10))
    // Over TLS, requests arrive on the TLS socket made once the handshake is done, not on the
    // TCP one (a stalled handshake is cut by the server's handshakeTimeout).
    const event = server instanceof HttpsServer ? 'secureConnection' : 'connection'
    server.on(event, (socket: Socket) => this.#track(socket))
  }

  /** Whether `request` came on a connection past the cap and must be answered 503. */
  refuses(request: IncomingMessage): boolean {
    if (!this.#over.has(request.socket)) return false
    const path = (request.url ?? '/').split('?')[0]!
    return !ALWAYS_ANSWERED.has(path)
  }

  #track(socket: Socket): void {
    this.#open++
    if (this.#open > this.options.maxConnections) this.#over.add(socket)
    const silent = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy()
    }, this.options.firstByteTimeoutMs)
    silent.unref()
    socket.once('close', () => {
      clearTimeout(silent)
      this.#open--
    })
  }
}

/**
 * The default for MAX_CONNECTIONS: what the process's open-file limit leaves after room for
 * the store's files and everything else, or 10,000 where the limit cannot be read.
 */
export function defaultMaxConnections(): number {
  let limit = Number.NaN
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max open files'))
    limit = Number(line?.split(/\s+/)[3])
  } catch {
    // Not Linux: no /proc to read.
  }
  if (!Number.isFinite(limit)) return 10_000
  // LevelDB keeps up to 1,000 table files open; connections past the cap still need an fd to
  // be refused with a 503.
  return Math.max(64, Math.floor(limit * 0.8) - 1024)
}
