/** A token bucket: `perSecond` refills a second, at most `burst` saved up. */
export class TokenBucket {
  #tokens: number
  #updatedAt = performance.now()

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = performance.now()
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.perSecond)
    this.#updatedAt = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
