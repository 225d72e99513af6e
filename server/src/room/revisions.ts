/**
 * The revisions of a document's store log an instance has, with a shared store: every
 * revision up to `seen`, and some after it (arrived out of order). A revision the store has
 * beyond what this instance has means it missed something and must catch up.
 */
export class RevisionTracker {
  #seen: number
  readonly #ahead = new Set<number>()

  constructor(loaded: number) {
    this.#seen = loaded
  }

  /** Every revision up to this one is applied here. */
  get seen(): number {
    return this.#seen
  }

  /** The update stored at `revision` is applied here. */
  mark(revision: number): void {
    if (revision <= this.#seen) return
    this.#ahead.add(revision)
    while (this.#ahead.delete(this.#seen + 1)) this.#seen++
  }

  /** Everything up to `revision` is applied here (a catch-up read it from the store). */
  reach(revision: number): void {
    if (revision <= this.#seen) return
    this.#seen = revision
    for (const ahead of this.#ahead) if (ahead <= revision) this.#ahead.delete(ahead)
    while (this.#ahead.delete(this.#seen + 1)) this.#seen++
  }
}
