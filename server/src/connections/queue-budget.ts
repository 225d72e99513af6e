/**
 * Bytes of frames held back while their document authenticates or loads. A socket has its
 * own budget inside the server's, so neither one client nor many together can make the
 * server hold more than a known amount for documents nobody has opened yet.
 */
export class QueueBudget {
  #used = 0

  constructor(
    readonly limit: number,
    private readonly parent: QueueBudget | null = null,
  ) {}

  get used(): number {
    return this.#used
  }

  /**
   * Reserves `bytes` here and in every parent. Returns null when it did, otherwise the
   * budget that is full (and reserves nothing).
   */
  take(bytes: number): QueueBudget | null {
    if (this.#used + bytes > this.limit) return this
    const full = this.parent?.take(bytes) ?? null
    if (full !== null) return full
    this.#used += bytes
    return null
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.#used -= bytes
    this.parent?.give(bytes)
  }
}
