import type { AwarenessEntry } from './protocol/messages.js'

/**
 * The awareness states of one document, kept as the JSON text clients sent so that
 * nothing is parsed or re-serialised on the way through. Follows the clock rules of
 * y-protocols/awareness: a newer clock wins; an equal clock may only remove a state.
 */
export class Presence {
  readonly #entries = new Map<number, AwarenessEntry>()

  /** Applies entries; returns those that changed something. */
  apply(entries: readonly AwarenessEntry[]): AwarenessEntry[] {
    const applied: AwarenessEntry[] = []
    for (const entry of entries) {
      const current = this.#entries.get(entry.clientId)
      const newer = current === undefined || current.clock < entry.clock
      const removal =
        current?.clock === entry.clock && entry.state === null && current.state !== null
      if (newer || removal) {
        this.#entries.set(entry.clientId, entry)
        applied.push(entry)
      }
    }
    return applied
  }

  /** Removes the states of `clientIds`; returns the removals to broadcast. */
  remove(clientIds: Iterable<number>): AwarenessEntry[] {
    const removed: AwarenessEntry[] = []
    for (const clientId of clientIds) {
      const current = this.#entries.get(clientId)
      if (current === undefined || current.state === null) continue
      const removal = { clientId, clock: current.clock + 1, state: null }
      this.#entries.set(clientId, removal)
      removed.push(removal)
    }
    return removed
  }

  /** The clients that currently have a state. */
  current(): AwarenessEntry[] {
    return [...this.#entries.values()].filter((entry) => entry.state !== null)
  }
}
