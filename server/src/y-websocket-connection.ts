import type { Logger } from 'pino'
import type { WebSocket } from 'ws'
import { CloseCode, reasonFor } from './close-codes.js'
import type { DocumentName } from './document-name.js'
import type { Peer } from './peer.js'
import type { ClientMessage } from './protocol/messages.js'
import { ProtocolError } from './protocol/messages.js'
import { decodeYWebsocketFrame, yWebsocketEncoder } from './protocol/y-websocket-codec.js'
import type { Room } from './room.js'
import type { RoomRegistry } from './room-registry.js'
import { RegistryClosedError } from './room-registry.js'

export interface ConnectionLimits {
  /** A peer whose unsent bytes pass this is closed with 1013. */
  readonly maxBufferedBytes: number
  /** Messages kept while the document loads; more closes the socket with 1013. */
  readonly maxQueuedMessages: number
}

const SLOW_CLIENT_GRACE_MS = 1000

type State =
  | { readonly kind: 'loading', readonly queue: ClientMessage[] }
  | { readonly kind: 'open', readonly room: Room }
  | { readonly kind: 'closed' }

/**
 * One y-websocket client: one socket, one document. Frames are decoded as they arrive;
 * until the document has loaded they wait in order, then go to the room.
 */
export class YWebsocketConnection implements Peer {
  readonly encoder = yWebsocketEncoder
  #state: State = { kind: 'loading', queue: [] }

  constructor(
    readonly socket: WebSocket,
    readonly document: DocumentName,
    registry: RoomRegistry,
    private readonly logger: Logger,
    private readonly limits: ConnectionLimits,
  ) {
    socket.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary))
    socket.on('close', () => this.#onClose())
    socket.on('error', (error) => this.logger.debug({ err: error }, 'socket error'))
    registry.join(document, this).then(
      (room) => this.#onLoaded(room),
      (error: unknown) => {
        const code =
          error instanceof RegistryClosedError ? CloseCode.goingAway : CloseCode.internalError
        this.close(code, reasonFor(code))
      },
    )
  }

  send(frame: Uint8Array): void {
    const socket = this.socket
    if (socket.readyState !== socket.OPEN) return
    if (socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CloseCode.tryAgainLater, reasonFor(CloseCode.tryAgainLater))
      // A client that does not read will not read the close frame either: free its
      // buffers now instead of after the close handshake times out.
      setTimeout(() => socket.terminate(), SLOW_CLIENT_GRACE_MS).unref()
      return
    }
    socket.send(frame)
  }

  close(code: number, reason: string): void {
    const socket = this.socket
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
      socket.close(code, reason)
    }
    this.#onClose()
  }

  #onLoaded(room: Room): void {
    const state = this.#state
    if (state.kind !== 'loading') {
      room.leave(this)
      return
    }
    this.#state = { kind: 'open', room }
    for (const message of state.queue) this.#deliver(room, message)
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    const state = this.#state
    if (state.kind === 'closed') return
    if (!isBinary) {
      this.close(CloseCode.unsupportedData, reasonFor(CloseCode.unsupportedData))
      return
    }
    let message: ClientMessage
    try {
      message = decodeYWebsocketFrame(data)
    } catch (error) {
      this.#reject(error)
      return
    }
    if (state.kind === 'open') {
      this.#deliver(state.room, message)
    } else if (state.queue.length < this.limits.maxQueuedMessages) {
      state.queue.push(message)
    } else {
      this.close(CloseCode.tryAgainLater, reasonFor(CloseCode.tryAgainLater))
    }
  }

  #deliver(room: Room, message: ClientMessage): void {
    try {
      room.receive(this, message)
    } catch (error) {
      this.#reject(error)
    }
  }

  #reject(error: unknown): void {
    const code = error instanceof ProtocolError ? error.code : CloseCode.protocolError
    this.logger.debug({ err: error, document: this.document }, 'closing connection: bad frame')
    this.close(code, reasonFor(code as CloseCode))
  }

  #onClose(): void {
    const state = this.#state
    if (state.kind === 'closed') return
    this.#state = { kind: 'closed' }
    if (state.kind === 'open') state.room.leave(this)
  }
}
