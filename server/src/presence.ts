import type { AwarenessEntry } from './protocol/messages.js'

/**
 * How long a removal is remembered. Until then an older state of the removed client (a
 * message still in flight) is refused; after it, the client id is forgotten, as
 * y-protocols/awareness forgets removed clients after its 30 s timeout.
 */
export const REMOVAL_MEMORY_MS = 30_000

/**
 * The awareness states of one document, kept as the JSON text clients sent so that
 * nothing is parsed or re-serialised on the way through. Follows the clock rules of
 * y-protocols/awareness: a newer clock wins; an equal clock may only remove a state.
 */
export class Presence {
  readonly #entries = new Map<number, AwarenessEntry>()
  /** When each removed client was removed, oldest first. */
  readonly #removedAt = new Map<number, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** Client ids remembered, with a state or as a recent removal. */
  get size(): number {
    return this.#entries.size
  }

  /** Applies entries; returns those that changed something. */
  apply(entries: readonly AwarenessEntry[]): AwarenessEntry[] {
    this.#forgetOldRemovals()
    const applied: AwarenessEntry[] = []
    for (const entry of entries) {
      const current = this.#entries.get(entry.clientId)
      const newer = current === undefined || current.clock < entry.clock
      const removal =
        current?.clock === entry.clock && entry.state === null && current.state !== null
      if (newer || removal) {
        this.#set(entry)
        applied.push(entry)
      }
    }
    return applied
  }

  /** Removes the states of `clientIds`; returns the removals to broadcast. */
  remove(clientIds: Iterable<number>): AwarenessEntry[] {
    this.#forgetOldRemovals()
    const removed: AwarenessEntry[] = []
    for (const clientId of clientIds) {
      const current = this.#entries.get(clientId)
      if (current === undefined || current.state === null) continue
      const removal = { clientId, clock: current.clock + 1, state: null }
      this.#set(removal)
      removed.push(removal)
    }
    return removed
  }

  /** The clients that currently have a state. */
  current(): AwarenessEntry[] {
    return [...this.#entries.values()].filter((entry) => entry.state !== null)
  }

  #set(entry: AwarenessEntry): void {
    this.#entries.set(entry.clientId, entry)
    // Deleted first so that a removal goes to the end: the map stays ordered by time.
    this.#removedAt.delete(entry.clientId)
    if (entry.state === null) this.#removedAt.set(entry.clientId, this.now())
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
