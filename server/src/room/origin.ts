import type { Peer } from '../peer.js'

/**
 * Where a change to a room's document came from, passed to Yjs as the transaction origin.
 * It decides what happens to the change: what a client or the HTTP API made is stored, then
 * relayed and published to the other instances; what came over the bus, or was read back
 * from the store, is stored already, so it is only relayed to this instance's clients.
 */
export type ChangeOrigin =
  | { readonly type: 'client', readonly peer: Peer }
  | { readonly type: 'api' }
  | { readonly type: 'bus' }
  | { readonly type: 'load' }

/** Origins of changes that are already stored somewhere: relayed here, never stored or published again. */
export type ReplicatedOrigin = Extract<ChangeOrigin, { type: 'bus' | 'load' }>

export const API_ORIGIN: ChangeOrigin = { type: 'api' }
export const BUS_ORIGIN: ReplicatedOrigin = { type: 'bus' }
export const LOAD_ORIGIN: ReplicatedOrigin = { type: 'load' }
