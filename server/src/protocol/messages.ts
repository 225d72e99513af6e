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
  /** Sync step 2 and incremental updates alike: content to apply. */
  | { readonly type: 'update', readonly update: Uint8Array }
  | {
    readonly type: 'awareness'
    readonly update: Uint8Array
    readonly entries: readonly AwarenessEntry[]
  }
  | { readonly type: 'query-awareness' }

export type ServerMessage =
  | { readonly type: 'sync-step-1', readonly stateVector: Uint8Array }
  | { readonly type: 'sync-step-2', readonly update: Uint8Array }
  | { readonly type: 'update', readonly update: Uint8Array }
  | { readonly type: 'awareness', readonly update: Uint8Array }

/** Encodes room messages for one kind of connection. */
export interface Encoder {
  encode(message: ServerMessage): Uint8Array
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
