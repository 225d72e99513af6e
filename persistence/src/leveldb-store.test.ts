import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { describe, it } from 'node:test'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { LevelDbStore } from './leveldb-store.js'
import { describeDocumentStore, editedDocument } from './store-contract.js'

/** A new directory, removed when the test ends, whether it passed or not. */
async function temporaryDirectory(t: TestContext): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'tandem-leveldb-'))
  t.after(() => rm(directory, { recursive: true, force: true }))
  return directory
}

describeDocumentStore('LevelDbStore', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'tandem-leveldb-'))
  let store = new LevelDbStore(directory)
  return {
    store,
    reopen: async () => {
      await store.close()
      store = new LevelDbStore(directory)
      return store
    },
    dispose: async () => {
      try {
        await store.close()
      } finally {
        await rm(directory, { recursive: true, force: true })
      }
    },
  }
})

describe('LevelDbStore on disk', () => {
  it('[LS1] a reopened directory has every document', async (t) => {
    const directory = await temporaryDirectory(t)
    const { doc, updates } = editedDocument(40)
    const first = new LevelDbStore(directory)
    await first.append('kept', updates.slice(0, 20))
    for (const update of updates.slice(20)) await first.append('kept', [update])
    await first.close()
    const second = new LevelDbStore(directory)
    const loaded = new Y.Doc()
    Y.applyUpdate(loaded, (await second.load('kept'))!)
    assert.equal(loaded.getText('text').toString(), doc.getText('text').toString())
    assert.deepEqual(
      (await second.list()).map((info) => info.name),
      ['kept'],
    )
    await second.close()
  })

  it('[LS2] passing compactAfter stored updates compacts to one, losing nothing', async (t) => {
    const directory = await temporaryDirectory(t)
    const { doc, updates } = editedDocument(25)
    const store = new LevelDbStore(directory, { compactAfter: 10 })
    for (const update of updates) await store.append('busy', [update])
    await store.close()
    // Read back with plain y-leveldb: the layout is y-leveldb's own.
    const plain = new LeveldbPersistence(directory)
    const entries = await plain._transact((db) =>
      import('y-leveldb').then((m) => m.getLevelUpdates(db, 'busy')),
    )
    assert.ok(entries.length <= 10, `expected compaction, found ${entries.length} stored updates`)
    const loaded = await plain.getYDoc('busy')
    assert.equal(loaded.getText('text').toString(), doc.getText('text').toString())
    assert.deepEqual(await plain.getAllDocNames(), ['busy'])
    await plain.destroy()
  })

  it('[LS3] thousands of stored updates load as the compact encoded state, and compact', async (t) => {
    const directory = await temporaryDirectory(t)
    const writer = new LevelDbStore(directory, { compactAfter: Number.POSITIVE_INFINITY })
    const { doc, updates } = editedDocument(5000)
    await Promise.all(updates.map((update) => writer.append('many', [update])))
    await writer.close()
    const reader = new LevelDbStore(directory, { compactAfter: 200 })
    const state = await reader.load('many')
    assert.deepEqual(state, Y.encodeStateAsUpdate(doc), 'deleted content should be gone from the loaded state')
    const info = await reader.info('many')
    assert.equal(info?.size, state!.byteLength, 'loading past compactAfter should have compacted')
    await reader.close()
  })
})
