import { CloseCode } from '../close-codes.js'
import type { AwarenessEntry } from '../protocol/messages.js'
import { ProtocolError } from '../protocol/messages.js'

/**
 * How long a removal is remembered. Until then an older state of the removed client (a
 * message still in flight) is refused; after it, the client id is forgotten, as
 * y-protocols/awareness forgets removed clients after its 30 s timeout.
 */
export const REMOVAL_MEMORY_MS = 30_000

/**
 * A state not renewed for this long is removed, as y-protocols clients remove each other's
 * (they renew their own every 15 s): a client that vanished without a word goes away.
 */
export const STATE_TIMEOUT_MS = 30_000

/** Client ids one connection may show at once: a tab shows one, a reconnecting one two. */
export const MAX_CLIENTS_PER_OWNER = 16

/** The largest state one client may show (a name, a colour and a selection take < 1 KiB). */
export const MAX_STATE_BYTES = 16 * 1024

/**
 * The awareness states of one document, kept as the JSON text clients sent so that
 * nothing is parsed or re-serialised on the way through. Follows the clock rules of
 * y-protocols/awareness: a newer clock wins; an equal clock may only remove a state.
 * Each state belongs to the connection (`Owner`) that set it, which may hold only a few.
 */
export class Presence<Owner> {
  readonly #entries = new Map<number, AwarenessEntry>()
  readonly #owners = new Map<Owner, Set<number>>()
  readonly #ownerOf = new Map<number, Owner>()
  /** When each removed client was removed, oldest first. */
  readonly #removedAt = new Map<number, number>()
  /** When each present client last set its state, oldest first. */
  readonly #renewedAt = new Map<number, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** Client ids remembered, with a state or as a recent removal. */
  get size(): number {
    return this.#entries.size
  }

  /**
   * Applies entries sent by `owner`; returns those that changed something. Throws a
   * ProtocolError (1008), applying nothing, when a state is too large or the owner would
   * show more than MAX_CLIENTS_PER_OWNER clients. A `trusted` owner (another instance,
   * which checked its clients' states) is not limited.
   */
  apply(owner: Owner, entries: readonly AwarenessEntry[], { trusted = false } = {}): AwarenessEntry[] {
    this.#forgetOldRemovals()
    const changes = entries.filter((entry) => this.#changes(entry))
    if (!trusted) this.#checkLimits(owner, changes)
    for (const entry of changes) this.#set(entry, owner)
    return changes
  }

  /** Removes every state `owner` shows (it left); returns the removals to broadcast. */
  leave(owner: Owner): AwarenessEntry[] {
    const clientIds = this.#owners.get(owner)
    this.#owners.delete(owner)
    return clientIds === undefined ? [] : this.#remove(clientIds)
  }

  /** Removes the states not renewed within STATE_TIMEOUT_MS; returns the removals. */
  expire(): AwarenessEntry[] {
    this.#forgetOldRemovals()
    const cutoff = this.now() - STATE_TIMEOUT_MS
    const stale: number[] = []
    for (const [clientId, at] of this.#renewedAt) {
      if (at > cutoff) break
      stale.push(clientId)
    }
    return this.#remove(stale)
  }

  /** The current states of the clients these owners show. */
  statesOf(owners: Iterable<Owner>): AwarenessEntry[] {
    const states: AwarenessEntry[] = []
    for (const owner of owners) {
      for (const clientId of this.#owners.get(owner) ?? []) {
        const entry = this.#entries.get(clientId)
        if (entry?.state != null) states.push(entry)
      }
    }
    return states
  }

  /** The clients that currently have a state. */
  current(): AwarenessEntry[] {
    return [...this.#entries.values()].filter((entry) => entry.state !== null)
  }

  #changes(entry: AwarenessEntry): boolean {
    const current = this.#entries.get(entry.clientId)
    if (current === undefined || current.clock < entry.clock) return true
    return current.clock === entry.clock && entry.state === null && current.state !== null
  }

  #checkLimits(owner: Owner, changes: readonly AwarenessEntry[]): void {
    const shown = new Set(this.#owners.get(owner))
    for (const entry of changes) {
      if (entry.state === null) {
        shown.delete(entry.clientId)
        continue
      }
      if (entry.state.length > MAX_STATE_BYTES || Buffer.byteLength(entry.state) > MAX_STATE_BYTES) {
        throw new ProtocolError(`a presence state is larger than ${MAX_STATE_BYTES} bytes`, CloseCode.policyViolation)
      }
      shown.add(entry.clientId)
    }
    if (shown.size > MAX_CLIENTS_PER_OWNER) {
      throw new ProtocolError(`one connection may show at most ${MAX_CLIENTS_PER_OWNER} presence states`, CloseCode.policyViolation)
    }
  }

  #remove(clientIds: Iterable<number>): AwarenessEntry[] {
    const removed: AwarenessEntry[] = []
    for (const clientId of clientIds) {
      const current = this.#entries.get(clientId)
      if (current === undefined || current.state === null) continue
      const removal = { clientId, clock: current.clock + 1, state: null }
      this.#set(removal, null)
      removed.push(removal)
    }
    return removed
  }

  #set(entry: AwarenessEntry, owner: Owner | null): void {
    const { clientId } = entry
    this.#entries.set(clientId, entry)
    const previous = this.#ownerOf.get(clientId)
    if (previous !== undefined) {
      this.#owners.get(previous)?.delete(clientId)
      this.#ownerOf.delete(clientId)
    }
    // Deleted first so that each map stays ordered by time.
    this.#removedAt.delete(clientId)
    this.#renewedAt.delete(clientId)
    if (entry.state === null) {
      this.#removedAt.set(clientId, this.now())
      return
    }
    this.#renewedAt.set(clientId, this.now())
    if (owner === null) return
    this.#ownerOf.set(clientId, owner)
    let owned = this.#owners.get(owner)
    if (owned === undefined) this.#owners.set(owner, (owned = new Set()))
    owned.add(clientId)
  }

  #forgetOldRemovals(): void {
    const cutoff = this.now() - REMOVAL_MEMORY_MS
    for (const [clientId, at] of this.#removedAt) {
      if (at > cutoff) break
      this.#removedAt.delete(clientId)
      this.#entries.delete(clientId)
    }
  }
}
