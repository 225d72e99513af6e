import type { WebSocket } from 'ws'
import type { Principal } from '../auth/principal.js'
import { type CloseCode, CloseCode as Code } from '../close-codes.js'
import type { DocumentName } from '../document-name.js'
import { decodeYWebsocketFrame, yWebsocketEncoder } from '../protocol/y-websocket-codec.js'
import type { ConnectionContext } from './connection-context.js'
import { DocumentSession } from './document-session.js'
import { GuardedSocket } from './guarded-socket.js'
import { QueueBudget } from './queue-budget.js'

/**
 * A y-websocket client: one socket, one document, the token in the URL. Frames are
 * decoded as they arrive and wait, in order, while the token is checked and the document
 * loads.
 */
export class YWebsocketConnection extends DocumentSession {
  readonly encoder = yWebsocketEncoder
  readonly #socket: GuardedSocket

  constructor(socket: WebSocket, document: DocumentName, token: string | null, context: ConnectionContext) {
    super(document, context, new QueueBudget(context.limits.maxQueuedBytesPerSocket, context.queueBudget))
    this.#socket = new GuardedSocket(
      socket,
      context,
      { protocol: 'y-websocket', document },
      (frame) => this.#onFrame(frame),
      () => this.end(),
    )
    this.start(token).then(
      (refusal) => {
        if (refusal !== null) this.close(refusal.code, refusal.message)
      },
      (error: unknown) => {
        context.logger.error({ err: error }, 'authentication failed unexpectedly')
        this.close(Code.internalError, 'internal error')
      },
    )
  }

  send(frame: Uint8Array): void {
    this.#socket.send(frame)
  }

  close(code: number, reason: string): void {
    this.#socket.close(code as CloseCode, reason)
  }

  protected onAuthorized(principal: Principal): void {
    this.#socket.details.user = principal.user
  }

  protected onExpired(): void {
    this.close(Code.unauthorized, 'token expired')
  }

  #onFrame(frame: Buffer): void {
    try {
      this.receive(decodeYWebsocketFrame(frame), frame.byteLength)
    } catch (error) {
      this.context.logger.debug({ err: error, document: this.document }, 'closing: bad frame')
      this.close(Code.protocolError, 'malformed message')
    }
  }
}
