import { DocumentDeletedError } from '@tandem/persistence/document-store'
import { AuthenticationError, type Principal } from '../auth/principal.js'
import { mayAccess } from '../auth/authorize.js'
import { CloseCode, reasonFor } from '../close-codes.js'
import type { DocumentName } from '../document-name.js'
import type { Peer } from '../peer.js'
import { type ClientMessage, type Encoder, ProtocolError } from '../protocol/messages.js'
import type { Room } from '../room/room.js'
import { RegistryClosedError } from '../room/room-registry.js'
import type { ConnectionContext } from './connection-context.js'
import { scheduleExpiry } from './expiry.js'
import type { QueueBudget } from './queue-budget.js'

/** Why a client may not open a document: close code 4401, 4403 or 4404, and a message. */
export interface Refusal {
  readonly code: typeof CloseCode.unauthorized | typeof CloseCode.forbidden | typeof CloseCode.documentDeleted
  readonly message: string
}

type State =
  | { readonly kind: 'waiting', readonly queue: ClientMessage[], queuedBytes: number }
  | { readonly kind: 'open', readonly room: Room }
  | { readonly kind: 'closed' }

/**
 * One client on one document, whatever the protocol: checks the token before anything of
 * the document is loaded or sent, keeps the client's messages in order until the document
 * has loaded, then hands them to the room.
 */
export abstract class DocumentSession implements Peer {
  abstract readonly encoder: Encoder
  canWrite = false
  presenceName: string | null = null
  #state: State = { kind: 'waiting', queue: [], queuedBytes: 0 }
  #cancelExpiry: () => void = () => {}

  /** `queueBudget` holds this socket's waiting frames (shared by a socket's documents). */
  constructor(
    readonly document: DocumentName,
    protected readonly context: ConnectionContext,
    private readonly queueBudget: QueueBudget,
  ) {}

  abstract send(frame: Uint8Array): void
  abstract close(code: number, reason: string): void

  /** Called once the principal may read the document, before the room is joined. */
  protected abstract onAuthorized(principal: Principal): void
  /** Called when the principal's token expires while the session is open. */
  protected abstract onExpired(): void

  get isClosed(): boolean {
    return this.#state.kind === 'closed'
  }

  /**
   * Authenticates the token and joins the document's room. Resolves with the refusal,
   * or null when the session went ahead.
   */
  async start(token: string | null): Promise<Refusal | null> {
    const { registry } = this.context
    const checked = await this.#check(token)
    if ('code' in checked) return checked
    const principal = checked
    if (this.isClosed) return null
    // A deleted document stays deleted: its old clients may not write it back by reconnecting.
    if (await registry.isDeleted(this.document)) {
      return { code: CloseCode.documentDeleted, message: reasonFor(CloseCode.documentDeleted) }
    }
    if (this.isClosed) return null
    this.#grant(principal)
    this.onAuthorized(principal)
    registry.join(this.document, this).then(
      (room) => this.#onJoined(room),
      (error: unknown) => {
        let code: CloseCode = CloseCode.internalError
        if (error instanceof RegistryClosedError) code = CloseCode.serviceRestart
        else if (error instanceof DocumentDeletedError) code = CloseCode.documentDeleted
        this.close(code, reasonFor(code))
      },
    )
    return null
  }

  /**
   * A new token for a session already going: its role and expiry replace the old ones, so
   * a client can upgrade (or give up) write access without reconnecting. Resolves with
   * the refusal (the caller ends the session), or null when the new token took effect.
   */
  async reauthenticate(token: string | null): Promise<Refusal | null> {
    const checked = await this.#check(token)
    if ('code' in checked) return checked
    if (!this.isClosed) this.#grant(checked)
    return null
  }

  async #check(token: string | null): Promise<Principal | Refusal> {
    let principal: Principal
    try {
      principal = await this.context.authenticator.authenticate(token)
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error
      return { code: CloseCode.unauthorized, message: error.message }
    }
    if (!mayAccess(principal, this.document, 'read')) {
      return { code: CloseCode.forbidden, message: `the token does not cover ${this.document}` }
    }
    return principal
  }

  #grant(principal: Principal): void {
    this.canWrite = mayAccess(principal, this.document, 'write')
    this.presenceName = principal.presenceName
    this.#cancelExpiry()
    this.#cancelExpiry = scheduleExpiry(principal.expiresAt, () => this.onExpired())
  }

  /** Takes one decoded message from the client; `bytes` is the size of its frame. */
  receive(message: ClientMessage, bytes: number): void {
    const state = this.#state
    if (state.kind === 'open') {
      this.#deliver(state.room, message)
    } else if (state.kind === 'waiting') {
      if (state.queue.length >= this.context.limits.maxQueuedMessages) {
        this.close(CloseCode.policyViolation, 'too many messages before the document opened')
        return
      }
      const full = this.queueBudget.take(bytes)
      if (full === this.context.queueBudget) {
        this.close(CloseCode.tryAgainLater, 'the server holds too much for documents still opening')
      } else if (full !== null) {
        this.close(CloseCode.policyViolation, 'too many bytes before the document opened')
      } else {
        // Only the bytes the budget counted wait; a decoded update is several times larger,
        // and the room decodes it again when it arrives.
        state.queue.push(message.type === 'update' ? { type: 'update', update: message.update } : message)
        state.queuedBytes += bytes
      }
    }
  }

  /** Leaves the room and drops whatever is queued; the session takes nothing more. */
  end(): void {
    const state = this.#state
    if (state.kind === 'closed') return
    this.#state = { kind: 'closed' }
    this.#cancelExpiry()
    if (state.kind === 'open') state.room.leave(this)
    else this.queueBudget.give(state.queuedBytes)
  }

  #onJoined(room: Room): void {
    const state = this.#state
    if (state.kind !== 'waiting') {
      room.leave(this)
      return
    }
    this.#state = { kind: 'open', room }
    this.queueBudget.give(state.queuedBytes)
    for (const message of state.queue) {
      if (this.#state.kind !== 'open') break
      this.#deliver(room, message)
    }
  }

  #deliver(room: Room, message: ClientMessage): void {
    try {
      room.receive(this, message)
    } catch (error) {
      // A message the room refused (ProtocolError) closes with its code; anything else
      // is a malformed message as far as this client is concerned.
      const code = error instanceof ProtocolError ? error.code : CloseCode.protocolError
      this.context.logger.warn({ err: error, document: this.document }, 'a message could not be applied')
      this.close(code, error instanceof ProtocolError ? error.message : reasonFor(CloseCode.protocolError))
    }
  }
}
