import type { DecodedUpdate } from './update-shape.js'

/**
 * What a client may say to a room and what a room says back, whatever the wire protocol.
 * Codecs turn frames into these and back; rooms never see bytes of a protocol.
 */

/** One client's presence as carried by the awareness protocol. */
export interface AwarenessEntry {
  readonly clientId: number
  readonly clock: number
  /** The state as JSON text, already checked to parse; null when the client left. */
  readonly state: string | null
}

export type ClientMessage =
  | { readonly type: 'sync-step-1', readonly stateVector: Uint8Array }
  /** Sync step 2 and incremental updates alike: content to apply, decoded by the codec. */
  | { readonly type: 'update', readonly update: Uint8Array, readonly decoded?: DecodedUpdate }
  | {
    readonly type: 'awareness'
    readonly update: Uint8Array
    readonly entries: readonly AwarenessEntry[]
  }
  | { readonly type: 'query-awareness' }
  /** An application message for the server (Hocuspocus stateless). */
  | { readonly type: 'stateless', readonly payload: string }

export type ServerMessage =
  | { readonly type: 'sync-step-1', readonly stateVector: Uint8Array }
  | { readonly type: 'sync-step-2', readonly update: Uint8Array }
  | { readonly type: 'update', readonly update: Uint8Array }
  | { readonly type: 'awareness', readonly update: Uint8Array }
  /** The update a client sent is stored (`applied`) or was refused. */
  | { readonly type: 'sync-status', readonly applied: boolean }
  | { readonly type: 'stateless', readonly payload: string }

/** Encodes room messages for one kind of connection. */
export interface Encoder {
  /** Encoders with the same id produce the same bytes, so a frame is encoded once for all. */
  readonly id: string
  /** The frame, or null when the protocol has no such message. */
  encode(message: ServerMessage): Uint8Array | null
}

/** A frame broke the protocol; the connection that sent it is closed with `code`. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message)
    this.name = 'ProtocolError'
  }
}
