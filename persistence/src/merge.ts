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

// A long history (a document nobody compacted, such as one plain y-leveldb wrote) is
// replayed in merges of 100 updates: Y.mergeUpdates is cheap for a few dozen small updates
// and superlinear for many, Y.applyUpdate has a fixed cost per call. Replaying 110,000
// updates: one by one 600-1000 ms, in merges of 100 400-600 ms, of 1,000 1.5-2.2 s. The few
// hundred updates of a routine compaction are applied one by one: merging updates of many
// clients costs more than it saves (a busy document's p99 passed 50 ms one step earlier).
const REPLAY_MERGE = 100
const REPLAY_MERGE_FROM = 1000

/** Replaying yields to the event loop after this long, so other documents' work goes on. */
const REPLAY_SLICE_MS = 10

/**
 * Stored updates replayed into a document, encoded as one update with its state vector; null
 * when `stop` said so between slices. Applying them is linear in their number (Y.mergeUpdates
 * over all of them is not), and encoding a document drops the content of deleted items, which
 * merging keeps. A long replay runs in slices of REPLAY_SLICE_MS, each one transaction, so a
 * store compacting a long history never holds the event loop for long.
 */
export async function replaySliced(
  updates: readonly Uint8Array[],
  stop: () => boolean = () => false,
): Promise<{ state: Uint8Array, stateVector: Uint8Array } | null> {
  const [only] = updates
  if (updates.length === 1) return { state: only!, stateVector: Y.encodeStateVectorFromUpdate(only!) }
  const doc = new Y.Doc()
  try {
    const step = updates.length >= REPLAY_MERGE_FROM ? REPLAY_MERGE : 1
    let start = 0
    for (;;) {
      const began = performance.now()
      doc.transact(() => {
        while (start < updates.length && performance.now() - began < REPLAY_SLICE_MS) {
          const next = step === 1 ? updates[start]! : Y.mergeUpdates(updates.slice(start, start + step))
          Y.applyUpdate(doc, next)
          start += step
        }
      })
      if (start >= updates.length) break
      await new Promise((resolve) => setImmediate(resolve))
      if (stop()) return null
    }
    return { state: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) }
  } finally {
    doc.destroy()
  }
}
