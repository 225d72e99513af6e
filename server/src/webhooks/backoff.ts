const SECOND = 1000
const HOUR = 60 * 60 * SECOND

/** The delay before the first retry; each later retry waits up to twice as long as the one before. */
export const BASE_DELAY_MS = 5 * SECOND

/** No retry waits longer than this, whatever the attempt or the endpoint's Retry-After. */
export const MAX_DELAY_MS = HOUR

/**
 * An endpoint whose deliveries have failed continuously for this long is disabled and its
 * owner told: three days outlasts a long weekend's outage, and past it an endpoint is more
 * likely gone than down. With the schedule of {@link nextAttemptDelay} that is about 100
 * attempts.
 */
export const DISABLE_AFTER_MS = 3 * 24 * HOUR

/**
 * How long to wait before retry number `attempt` (1 = the first retry): exponential backoff
 * with equal jitter. The ceiling is 5 s, 10 s, 20 s, … doubling until it reaches 1 h (from
 * the 11th retry on); the delay is drawn between half the ceiling and the ceiling, so retries
 * of many deliveries failing together spread out yet still slow down. A `Retry-After` from
 * the endpoint is a floor, itself capped at 1 h so an endpoint cannot park its queue.
 */
export function nextAttemptDelay(
  attempt: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer from 1, not ${attempt}`)
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1))
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2))
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_DELAY_MS))
}
