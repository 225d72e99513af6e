/** The delay before reconnecting after a server restart or a dropped network. */
export const QUICK_RECONNECT_MS = 250
/** The longest wait between tries while the server cannot save. */
export const MAX_UNSAVED_BACKOFF_MS = 30_000

/**
 * Close codes that mean the server is up but cannot take edits now: the store failed
 * (1011) or it sheds load (1013). Reconnecting at once only adds to its trouble.
 */
export function saysCannotSave(code: number | undefined): boolean {
  return code === 1011 || code === 1013
}

/**
 * How long to wait before the next reconnect, given how a connection closed and the wait
 * before it: doubling from 1 s while the server cannot save, quick otherwise.
 */
export function nextReconnectDelay(code: number | undefined, previous: number): number {
  if (!saysCannotSave(code)) return QUICK_RECONNECT_MS
  return Math.min(MAX_UNSAVED_BACKOFF_MS, Math.max(1000, previous * 2))
}
