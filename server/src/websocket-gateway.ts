import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import { CloseCode, reasonFor } from './close-codes.js'
import type { ConnectionContext } from './connections/connection-context.js'
import { HocuspocusConnection } from './connections/hocuspocus-connection.js'
import { YWebsocketConnection } from './connections/y-websocket-connection.js'
import { parseDocumentNameSegment } from './document-name.js'

export interface GatewayOptions extends ConnectionContext {
  readonly maxMessageBytes: number
  /** How often sockets are pinged; one that missed the previous pong is dropped. */
  readonly pingIntervalMs: number
  /** Origins allowed to open WebSockets; null allows every origin. */
  readonly allowedOrigins: ReadonlySet<string> | null
}

/**
 * Takes WebSocket upgrades: `/collab` speaks the Hocuspocus protocol, `/collab/:document`
 * the y-websocket one. Keeps sockets alive or drops them.
 */
export class WebSocketGateway {
  readonly #server: WebSocketServer
  readonly #options: GatewayOptions
  readonly #alive = new WeakSet<WebSocket>()
  readonly #pinger: NodeJS.Timeout

  constructor(options: GatewayOptions) {
    this.#options = options
    this.#server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: true,
    })
    this.#pinger = setInterval(() => this.#ping(), options.pingIntervalMs)
    this.#pinger.unref()
  }

  /** Open sockets. */
  get connections(): number {
    return this.#server.clients.size
  }

  /** Bytes of frames held, across every socket, for documents still authenticating or loading. */
  get queuedBytes(): number {
    return this.#options.queueBudget.used
  }

  /** The `upgrade` listener of the HTTP server. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const path = url.pathname
    if (path !== '/collab' && !path.startsWith('/collab/')) return refuse(socket, 404, 'Not Found')
    const origin = request.headers.origin
    const { allowedOrigins } = this.#options
    if (allowedOrigins !== null && origin !== undefined && !allowedOrigins.has(origin)) {
      this.#options.metrics.refusals.inc({ code: '403' })
      this.#options.logger.warn({ origin, ip: request.socket.remoteAddress, code: 403, reason: 'origin not allowed' }, 'connection refused')
      return refuse(socket, 403, 'Forbidden')
    }
    this.#server.handleUpgrade(request, socket, head, (ws) => {
      this.#track(ws)
      if (path === '/collab') return this.#openHocuspocus(ws)
      const segment = path.slice('/collab/'.length)
      const name = segment.includes('/') ? null : parseDocumentNameSegment(segment)
      if (name === null) {
        this.#options.metrics.refusals.inc({ code: String(CloseCode.invalidDocumentName) })
        this.#options.logger.warn(
          { protocol: 'y-websocket', ip: request.socket.remoteAddress, code: CloseCode.invalidDocumentName, reason: 'invalid document name' },
          'connection refused',
        )
        ws.close(CloseCode.invalidDocumentName, reasonFor(CloseCode.invalidDocumentName))
        return
      }
      this.#count(ws, 'y-websocket')
      new YWebsocketConnection(ws, name, url.searchParams.get('token'), this.#options)
    })
  }

  /** Stops pinging and closes every socket still open with `code`. */
  close(code: CloseCode): void {
    clearInterval(this.#pinger)
    for (const ws of this.#server.clients) ws.close(code, reasonFor(code))
  }

  #openHocuspocus(ws: WebSocket): void {
    this.#count(ws, 'hocuspocus')
    new HocuspocusConnection(ws, this.#options)
  }

  #count(ws: WebSocket, protocol: string): void {
    const gauge = this.#options.metrics.connections
    gauge.inc({ protocol })
    ws.once('close', () => gauge.dec({ protocol }))
  }

  #track(ws: WebSocket): void {
    this.#alive.add(ws)
    ws.on('pong', () => this.#alive.add(ws))
  }

  #ping(): void {
    for (const ws of this.#server.clients) {
      if (!this.#alive.has(ws)) {
        ws.terminate()
        continue
      }
      this.#alive.delete(ws)
      ws.ping()
    }
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
