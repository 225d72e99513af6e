import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { type WebSocket, WebSocketServer } from 'ws'
import { CloseCode, reasonFor } from './close-codes.js'
import { parseDocumentNameSegment } from './document-name.js'
import type { RoomRegistry } from './room-registry.js'
import type { ConnectionLimits } from './y-websocket-connection.js'
import { YWebsocketConnection } from './y-websocket-connection.js'

export interface GatewayOptions extends ConnectionLimits {
  readonly registry: RoomRegistry
  readonly logger: Logger
  readonly maxMessageBytes: number
  /** How often sockets are pinged; one that missed the previous pong is dropped. */
  readonly pingIntervalMs: number
}

/**
 * Takes WebSocket upgrades for `/collab/:document`, and keeps sockets alive or drops them.
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

  /** Open sockets, for metrics and tests. */
  get connections(): number {
    return this.#server.clients.size
  }

  /** The `upgrade` listener of the HTTP server. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (!path.startsWith('/collab/')) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const segment = path.slice('/collab/'.length)
    const name = segment.includes('/') ? null : parseDocumentNameSegment(segment)
    this.#server.handleUpgrade(request, socket, head, (ws) => {
      if (name === null) {
        ws.close(CloseCode.invalidDocumentName, reasonFor(CloseCode.invalidDocumentName))
        return
      }
      this.#track(ws)
      const { registry, logger } = this.#options
      new YWebsocketConnection(ws, name, registry, logger.child({ document: name }), this.#options)
    })
  }

  /** Stops pinging and closes every socket still open with `code`. */
  close(code: CloseCode): void {
    clearInterval(this.#pinger)
    for (const ws of this.#server.clients) ws.close(code, reasonFor(code))
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
