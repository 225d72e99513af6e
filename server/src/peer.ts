import type { Encoder } from './protocol/messages.js'

/**
 * A connection as a room sees it: where to send frames and how to encode them.
 * The room never knows which protocol or transport is behind it.
 */
export interface Peer {
  readonly encoder: Encoder
  /** False for read-only principals: their updates are dropped, never applied or relayed. */
  readonly canWrite: boolean
  /**
   * The name this client's presence shows (`user.name`), set by the server from its token
   * whatever the client sends; null lets the client's own name through.
   */
  readonly presenceName: string | null
  /** Sends one encoded frame. A peer that cannot keep up closes itself. */
  send(frame: Uint8Array): void
  close(code: number, reason: string): void
}
