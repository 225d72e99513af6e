import type { WebSocket } from 'ws'
import type { Principal } from '../auth/principal.js'
import { type CloseCode, CloseCode as Code, reasonFor } from '../close-codes.js'
import { type DocumentName, parseDocumentName } from '../document-name.js'
import {
  decodeHocuspocusFrame,
  HocuspocusEncoder,
  type HocuspocusFrame,
  PING_FRAME,
  PONG_FRAME,
} from '../protocol/hocuspocus-codec.js'
import type { ConnectionContext } from './connection-context.js'
import { DocumentSession } from './document-session.js'
import { GuardedSocket } from './guarded-socket.js'
import { QueueBudget } from './queue-budget.js'

// Documents one socket may have open or opening; the stock provider multiplexes every
// document of a page on one socket, and re-authenticates all of them at once on reconnect.
const MAX_DOCUMENTS = 1024
// Token checks run at once per socket; the others wait their turn rather than being refused.
const MAX_CONCURRENT_AUTHENTICATIONS = 64
// Refused documents whose frames are ignored until they authenticate again.
const MAX_REFUSED_DOCUMENTS = 1024

/**
 * A Hocuspocus provider socket: many documents, each behind its own key and its own
 * token. A document's frames wait until its Auth message is checked; a refused document
 * gets PermissionDenied and the socket stays open for the others.
 */
export class HocuspocusConnection {
  readonly #socket: GuardedSocket
  readonly #sessions = new Map<string, HocuspocusSession>()
  /** Keys whose last authentication was refused: their frames are dropped until a new Auth. */
  readonly #refused = new Set<string>()
  readonly #timers: NodeJS.Timeout[] = []
  /** Frames of this socket's documents that wait for their authentication or load. */
  readonly #queueBudget: QueueBudget
  #authenticated = false
  #authenticating = 0
  readonly #waitingAuthentications: Array<() => void> = []

  constructor(
    socket: WebSocket,
    private readonly context: ConnectionContext,
  ) {
    this.#socket = new GuardedSocket(
      socket,
      context,
      { protocol: 'hocuspocus' },
      (frame) => this.#onFrame(frame),
      () => this.#onClose(),
    )
    const { limits } = context
    this.#queueBudget = new QueueBudget(limits.maxQueuedBytesPerSocket, context.queueBudget)
    const authTimeout = setTimeout(() => {
      if (!this.#authenticated) this.close(Code.authenticationTimeout)
    }, limits.authTimeoutMs)
    const ping = setInterval(() => this.send(PING_FRAME), limits.appPingIntervalMs)
    authTimeout.unref()
    ping.unref()
    this.#timers.push(authTimeout, ping)
  }

  send(frame: Uint8Array): void {
    this.#socket.send(frame)
  }

  close(code: CloseCode, reason: string = reasonFor(code)): void {
    this.#socket.close(code, reason)
  }

  /** A session was authorized: the socket is no longer at risk of the auth timeout. */
  markAuthenticated(): void {
    this.#authenticated = true
  }

  /** Runs a token check when fewer than MAX_CONCURRENT_AUTHENTICATIONS run on this socket. */
  async inTurn(check: () => Promise<void>): Promise<void> {
    if (this.#authenticating >= MAX_CONCURRENT_AUTHENTICATIONS) {
      await new Promise<void>((resolve) => this.#waitingAuthentications.push(resolve))
    }
    this.#authenticating++
    try {
      await check()
    } finally {
      this.#authenticating--
      this.#waitingAuthentications.shift()?.()
    }
  }

  /** Forgets a session that ended on its own (refused, or closed by the room). */
  forget(session: HocuspocusSession, refused: boolean): void {
    const key = session.encoder.key
    if (this.#sessions.get(key) === session) this.#sessions.delete(key)
    if (!refused) return
    if (this.#refused.size >= MAX_REFUSED_DOCUMENTS) {
      this.close(Code.policyViolation, 'too many refused documents')
      return
    }
    this.#refused.add(key)
  }

  #onFrame(data: Buffer): void {
    let frame: HocuspocusFrame
    try {
      frame = decodeHocuspocusFrame(data)
    } catch (error) {
      this.context.logger.debug({ err: error }, 'closing: bad frame')
      this.close(Code.protocolError)
      return
    }
    if (frame.kind === 'ping') return this.send(PONG_FRAME)
    if (frame.kind === 'pong') return
    const { key, message } = frame
    let session = this.#sessions.get(key)
    if (message.type === 'close') {
      session?.end()
      this.#sessions.delete(key)
      this.#refused.delete(key)
      return
    }
    if (this.#refused.has(key)) {
      if (message.type !== 'auth') return
      this.#refused.delete(key)
    }
    if (session === undefined) {
      session = this.#open(key)
      if (session === undefined) return
    }
    if (message.type === 'auth') session.authenticate(message.token)
    else session.receive(message, data.byteLength)
  }

  #open(key: string): HocuspocusSession | undefined {
    if (this.#sessions.size >= MAX_DOCUMENTS) {
      this.close(Code.policyViolation, `more than ${MAX_DOCUMENTS} documents on one socket`)
      return undefined
    }
    const session = new HocuspocusSession(key, this, this.context, this.#queueBudget)
    this.#sessions.set(key, session)
    return session
  }

  #onClose(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    for (const session of this.#sessions.values()) session.end()
    this.#sessions.clear()
  }
}

/** One document of a Hocuspocus socket. */
export class HocuspocusSession extends DocumentSession {
  readonly encoder: HocuspocusEncoder
  authorized = false
  /** Token checks of this document, one after the other: a later token wins. */
  #authentications: Promise<void> = Promise.resolve()
  #started = false
  #user: string | undefined
  readonly #name: DocumentName | null
  /**
   * Each document must authenticate within the timeout of its own first frame: another
   * document's success on the same socket does not keep this one's queue alive.
   */
  readonly #authTimeout: NodeJS.Timeout

  constructor(
    key: string,
    private readonly connection: HocuspocusConnection,
    context: ConnectionContext,
    queueBudget: QueueBudget,
  ) {
    const name = parseDocumentName(documentNameOf(key))
    super(name ?? ('' as DocumentName), context, queueBudget)
    this.#name = name
    this.encoder = new HocuspocusEncoder(key)
    this.#authTimeout = setTimeout(() => {
      if (!this.authorized && !this.isClosed) this.connection.close(Code.authenticationTimeout)
    }, context.limits.authTimeoutMs)
    this.#authTimeout.unref()
  }

  override end(): void {
    clearTimeout(this.#authTimeout)
    if (this.authorized && !this.isClosed) {
      this.context.logger.info({ protocol: 'hocuspocus', document: this.document, user: this.#user }, 'document closed')
    }
    super.end()
  }

  /**
   * Checks a token for this document: the first opens it; a later one (a provider whose
   * token changed) replaces its role and expiry, answered with Authenticated and the new
   * scope, or refused with PermissionDenied, which ends the document's session.
   */
  authenticate(token: string): void {
    if (this.isClosed) return
    if (this.#name === null) {
      this.#refuse(Code.invalidDocumentName, 'invalid document name')
      return
    }
    const first = !this.#started
    this.#started = true
    this.#authentications = this.#authentications.then(() => this.connection.inTurn(async () => {
      if (this.isClosed) return
      const refusal = first ? await this.start(token) : await this.reauthenticate(token)
      if (refusal !== null) this.#refuse(refusal.code, refusal.message)
      else if (!first && !this.isClosed) this.#sendAuthenticated()
    })).catch((error: unknown) => {
      this.context.logger.error({ err: error }, 'authentication failed unexpectedly')
      this.connection.close(Code.internalError)
    })
  }

  send(frame: Uint8Array): void {
    this.connection.send(frame)
  }

  /**
   * Closing one document of a shared socket: a deletion or a normal close tells the
   * provider with a Close message; anything else (shutdown, store failure, a slow or
   * misbehaving client) closes the socket, so the provider reconnects and resyncs. A
   * deleted document's later frames (the provider still has it) are dropped, as a refused one's.
   */
  close(code: number, reason: string): void {
    if (code === Code.normal || code === Code.documentDeleted) {
      this.send(this.encoder.closeDocument(reason))
      this.end()
      this.connection.forget(this, code === Code.documentDeleted)
      return
    }
    this.connection.close(code as CloseCode, reason)
  }

  protected onAuthorized(principal: Principal): void {
    this.authorized = true
    this.connection.markAuthenticated()
    this.#sendAuthenticated()
    this.#user = principal.user
    this.context.logger.info({ protocol: 'hocuspocus', document: this.document, user: principal.user }, 'document opened')
  }

  protected onExpired(): void {
    this.connection.close(Code.unauthorized, 'token expired')
  }

  /** Authenticated with the scope the current token gives. */
  #sendAuthenticated(): void {
    this.send(this.encoder.authenticated(this.canWrite ? 'read-write' : 'readonly'))
  }

  #refuse(code: number, message: string): void {
    this.context.metrics.refusals.inc({ code: String(code) })
    this.context.logger.warn(
      { protocol: 'hocuspocus', document: this.#name ?? undefined, user: this.#user, code, reason: message },
      'document refused',
    )
    this.send(this.encoder.permissionDenied(message))
    this.end()
    this.connection.forget(this, true)
  }
}

/**
 * The document name in a key: providers with `sessionAwareness` send
 * `documentName \0 sessionId`, so one socket can hold one document twice.
 */
function documentNameOf(key: string): string {
  const separator = key.indexOf('\0')
  return separator === -1 ? key : key.slice(0, separator)
}
