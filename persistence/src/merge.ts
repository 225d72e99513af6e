import * as Y from 'yjs'

/** One update from many; skips the merge when there is nothing to merge. */
export function mergeAll(updates: readonly Uint8Array[]): Uint8Array {
  if (updates.length === 1) return updates[0] as Uint8Array
  return Y.mergeUpdates(updates as Uint8Array[])
}
