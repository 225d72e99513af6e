/**
 * The bus carries what one server instance must tell the others about the documents they
 * share: stored updates, presence, deletions. It is fan-out only: the store (Postgres) is
 * the source of truth, and anything the bus drops is caught up from the store.
 */

import { randomUUID } from 'node:crypto'

/** An instance of Tandem, as other instances know it (random per process). */
export type InstanceId = string & { readonly __brand: 'InstanceId' }

/** A fresh random instance id. */
export function newInstanceId(): InstanceId {
  return randomUUID() as InstanceId
}

export type BusMessage =
  /** An update the sender stored at `revision` (null when its store does not number appends). */
  | { readonly type: 'update', readonly update: Uint8Array, readonly revision: number | null }
  /** Awareness states of the sender's own clients (a y-protocols awareness update). */
  | { readonly type: 'awareness', readonly update: Uint8Array }
  /** A newcomer asks the others to publish their clients' presence. */
  | { readonly type: 'query-awareness' }
  /** The document was deleted: close its clients (4404) and unload it. */
  | { readonly type: 'deleted' }

/** Called for each message another instance published about a subscribed document. */
export type BusListener = (message: BusMessage, from: InstanceId) => void

/** Whether the bus can carry messages now, for `/readyz`. */
export type BusStatus = { readonly ready: true } | { readonly ready: false, readonly reason: string }

export interface BusEvents {
  /**
   * The bus came back after an outage (messages may have been dropped meanwhile): catch up
   * from the store, and publish local presence again.
   */
  readonly resync: () => void
  /** Another instance stopped (its liveness lapsed, or it closed): forget its clients' presence. */
  readonly instanceDown: (instance: InstanceId) => void
}

/**
 * Fan-out between instances. A message published is delivered at most once to each other
 * instance subscribed to its document, in publish order per publisher and document, and
 * never to its publisher. Publishing never throws and never waits: while the bus is down
 * messages are dropped (never queued), and `resync` fires when it is back.
 *
 * Implementations run `describeBus` in `bus-contract.ts`.
 */
export interface Bus {
  readonly instance: InstanceId
  /** Connects and starts announcing this instance's liveness; rejects when the bus cannot be reached. */
  open(): Promise<void>
  publish(document: string, message: BusMessage): void
  /**
   * Delivers other instances' messages about `document` until the returned function is
   * called. `onActive` runs once the subscription is in place, so that a message published
   * after it runs is delivered; while the bus is down it never runs (`resync` follows).
   */
  subscribe(document: string, listener: BusListener, onActive?: () => void): () => void
  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void
  status(): BusStatus
  /**
   * Stops announcing liveness and disconnects; publishes nothing more. Others get
   * `instanceDown` for this instance at their next liveness check.
   */
  close(): Promise<void>
}
