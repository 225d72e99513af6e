import * as Y from 'yjs'

/** One update from many; skips the merge when there is nothing to merge. */
export function mergeAll(updates: readonly Uint8Array[]): Uint8Array {
  if (updates.length === 1) return updates[0] as Uint8Array
  return Y.mergeUpdates(updates as Uint8Array[])
}

/**
 * One update from many by applying them to a document: linear in their number, where
 * Y.mergeUpdates over a long history (100,000 updates) takes minutes.
 */
export function replayAll(updates: readonly Uint8Array[]): Uint8Array {
  if (updates.length === 1) return updates[0] as Uint8Array
  const doc = new Y.Doc()
  doc.transact(() => {
    for (const update of updates) Y.applyUpdate(doc, update)
  })
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return state
}
