import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { type CloseCode, CloseCode as Code, reasonFor } from '../close-codes.js'
import type { ConnectionContext } from './connection-context.js'
import { TokenBucket } from './token-bucket.js'
import { binaryFrame, rawSocket } from './websocket-frame.js'

// A client that does not read will not read a close frame either: its buffers are freed
// this long after the close instead of when the close handshake times out.
const SLOW_CLIENT_GRACE_MS = 1000
// A socket holding less than this is never the one closed for the server-wide budget.
const FAIR_SHARE_BYTES = 1024 * 1024

/** What an operator reads about a connection in its log lines; never its token. */
export interface ConnectionDetails {
  readonly protocol: 'y-websocket' | 'hocuspocus'
  document?: string
  user?: string
  ip?: string
}

/**
 * The rules every socket lives by, whatever protocol it speaks: binary frames only, a
 * message rate and a bounded send buffer. Logs one line when it opens and one when it
 * closes (info), and one for a refusal (warn).
 */
export class GuardedSocket {
  readonly #bucket: TokenBucket
  readonly #raw: Duplex | null
  #closed = false
  /**
   * Bytes of one frame larger than the per-socket limit (a whole document sent to a
   * joiner) that may sit in the queue without counting against it, shrinking as it drains.
   */
  #excused = 0
  readonly #openedAt = Date.now()
  #closeCode: number | null = null

  constructor(
    readonly socket: WebSocket,
    private readonly context: ConnectionContext,
    readonly details: ConnectionDetails,
    onFrame: (frame: Buffer) => void,
    private readonly onClose: () => void,
  ) {
    const { limits } = context
    this.#raw = rawSocket(socket)
    details.ip ??= (this.#raw as { remoteAddress?: string } | null)?.remoteAddress
    context.logger.info({ ...details }, 'connection opened')
    this.#bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst)
    socket.on('message', (data, isBinary) => {
      if (this.#closed) return
      if (!isBinary) this.close(Code.unsupportedData)
      else if (!this.#bucket.take()) this.close(Code.policyViolation, 'message rate limit exceeded')
      else onFrame(data as Buffer)
    })
    socket.on('close', (code) => {
      this.#closeCode ??= code
      this.#onClosed()
    })
    this.#raw?.on('drain', () => {
      this.#excused = 0
      context.sendBudget.record(this, 0)
    })
    socket.on('error', (error) => context.logger.debug({ err: error }, 'socket error'))
  }

  get closed(): boolean {
    return this.#closed
  }

  send(frame: Uint8Array): void {
    const socket = this.socket
    if (this.#closed || socket.readyState !== socket.OPEN) return
    // Frames go to the TCP socket itself, so its queue is all there is to count.
    const buffered = this.#raw === null ? socket.bufferedAmount : this.#raw.writableLength
    this.#excused = Math.min(this.#excused, buffered)
    const { maxBufferedBytes } = this.context.limits
    const withinServer = this.context.sendBudget.record(this, buffered)
    if (buffered - this.#excused > maxBufferedBytes || (!withinServer && buffered > FAIR_SHARE_BYTES)) {
      this.#dropSlowClient()
      return
    }
    if (this.#excused === 0 && frame.byteLength > maxBufferedBytes) this.#excused = frame.byteLength
    if (this.#raw !== null) this.#raw.write(binaryFrame(frame))
    else socket.send(frame)
  }

  #dropSlowClient(): void {
    const socket = this.socket
    this.close(Code.tryAgainLater)
    setTimeout(() => socket.terminate(), SLOW_CLIENT_GRACE_MS).unref()
  }

  close(code: CloseCode, reason: string = reasonFor(code)): void {
    const socket = this.socket
    this.#closeCode ??= code
    if (code >= 4000 || code === Code.policyViolation || code === Code.tryAgainLater) {
      this.context.metrics.refusals.inc({ code: String(code) })
      if (!this.#closed) this.context.logger.warn({ ...this.details, code, reason }, 'connection refused')
    }
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
      socket.close(code, fitReason(reason))
    }
    this.#onClosed()
  }

  #onClosed(): void {
    if (this.#closed) return
    this.#closed = true
    this.context.sendBudget.forget(this)
    this.context.logger.info(
      { ...this.details, code: this.#closeCode, durationMs: Date.now() - this.#openedAt },
      'connection closed',
    )
    this.onClose()
  }
}

/** A close reason cut to the 123 bytes a close frame has room for, on a character boundary. */
function fitReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason
  let fitted = ''
  for (const character of reason) {
    if (Buffer.byteLength(fitted + character) > 120) break
    fitted += character
  }
  return `${fitted}…`
}
