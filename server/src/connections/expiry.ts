// setTimeout's limit; a later expiry is re-armed when the timer fires.
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Calls `onExpire` when `expiresAt` passes (at once if it has). Returns a cancel function.
 * Tokens without an expiry never expire.
 */
export function scheduleExpiry(expiresAt: Date | null, onExpire: () => void): () => void {
  if (expiresAt === null) return () => {}
  let timer: NodeJS.Timeout | null = null
  const arm = () => {
    const delay = expiresAt.getTime() - Date.now()
    if (delay <= 0) {
      timer = null
      onExpire()
      return
    }
    timer = setTimeout(arm, Math.min(delay, MAX_TIMER_MS))
    timer.unref()
  }
  arm()
  return () => {
    if (timer !== null) clearTimeout(timer)
  }
}
