import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import { describe, it } from 'node:test'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { StoreError } from './document-store.js'
import type { Level } from './leveldb-store.js'
import { FATAL_AFTER_FAILED_WRITES, LevelDbStore } from './leveldb-store.js'
import { describeOutbox } from './outbox-contract.js'
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

describeOutbox('LevelDbStore', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'tandem-leveldb-'))
  let store = new LevelDbStore(directory)
  return {
    get store() {
      return store
    },
    reopen: async () => {
      await store.close()
      store = new LevelDbStore(directory)
      return store
    },
    second: null,
    dispose: async () => {
      try {
        await store.close()
      } finally {
        await rm(directory, { recursive: true, force: true })
      }
    },
  }
}, { reopen: true, share: false })

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
    // Compactions run in the background, and closing drops the ones not done.
    await store.idle()
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
    await reader.idle()
    assert.deepEqual(state, Y.encodeStateAsUpdate(doc), 'deleted content should be gone from the loaded state')
    const info = await reader.info('many')
    assert.equal(info?.size, state!.byteLength, 'loading past compactAfter should have compacted')
    await reader.close()
  })

  it('[LS4] every group-committed batch is fsynced, unless syncWrites is false', async (t) => {
    for (const syncWrites of [undefined, true, false]) {
      const directory = await temporaryDirectory(t)
      const syncs: Array<boolean | undefined> = []
      const store = new LevelDbStore(directory, {
        syncWrites,
        wrapDatabase: (db) => wrap(db, {
          batch: (operations, options) => {
            syncs.push(options?.sync)
            return db.batch(operations, options)
          },
        }),
      })
      const { updates } = editedDocument(50)
      // Fifty acknowledged appends, in turns of one and of many.
      for (const update of updates.slice(0, 25)) await store.append('synced', [update])
      await Promise.all(updates.slice(25).map((update) => store.append('synced', [update])))
      await store.close()
      const expected = syncWrites ?? true
      assert.ok(syncs.length >= 26 && syncs.length < 50, `${syncs.length} batches`)
      assert.deepEqual(syncs, syncs.map(() => expected), `syncWrites ${syncWrites}`)
    }
  })

  it('[LS5] a disk that stays full rejects appends and the canary, and reports the store broken once', async (t) => {
    const directory = await temporaryDirectory(t)
    let full = false
    const fatal: StoreError[] = []
    const store = new LevelDbStore(directory, {
      onFatal: (error) => fatal.push(error),
      // Where no tmpfs can be mounted: LevelDB's own error after a background flush hit ENOSPC.
      wrapDatabase: (db) => wrap(db, {
        batch: (operations, options) => full
          ? Promise.reject(Object.assign(new Error('IO error: /data/000012.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }))
          : db.batch(operations, options),
      }),
    })
    t.after(() => store.close())
    const { doc, updates } = editedDocument(10)
    await store.append('full', updates.slice(0, 5))
    await store.checkWritable()
    full = true
    await assert.rejects(store.append('full', updates.slice(5, 6)), StoreError)
    await assert.rejects(store.checkWritable(), /No space left on device/)
    assert.equal(fatal.length, 0, 'reported broken before FATAL_AFTER_FAILED_WRITES failures in a row')
    for (let i = 2; i < FATAL_AFTER_FAILED_WRITES + 3; i++) {
      await assert.rejects(store.append('full', updates.slice(5, 6)), StoreError)
    }
    assert.equal(fatal.length, 1)
    assert.ok(fatal[0] instanceof StoreError)
    assert.match(fatal[0]!.message, /writes in a row failed .*No space left on device/)
    // What was acknowledged is still there; once there is room the writes go on.
    full = false
    await store.checkWritable()
    await store.append('full', updates.slice(5))
    const loaded = new Y.Doc()
    Y.applyUpdate(loaded, (await store.load('full'))!)
    assert.equal(loaded.getText('text').toString(), doc.getText('text').toString())
  })

  it('[LS6] a success between failed writes starts the count again', async (t) => {
    const directory = await temporaryDirectory(t)
    let failing = false
    const fatal: StoreError[] = []
    const store = new LevelDbStore(directory, {
      onFatal: (error) => fatal.push(error),
      wrapDatabase: (db) => wrap(db, {
        batch: (operations, options) => failing ? Promise.reject(new Error('IO error: transient')) : db.batch(operations, options),
      }),
    })
    t.after(() => store.close())
    for (let round = 0; round < 3; round++) {
      failing = true
      for (let i = 1; i < FATAL_AFTER_FAILED_WRITES; i++) {
        await assert.rejects(store.checkWritable(), StoreError)
      }
      failing = false
      await store.checkWritable()
    }
    assert.deepEqual(fatal, [])
  })

  it('[LS7] open rejects at once with the cause for a path that is a file, and waits for a LOCK another store holds', async (t) => {
    const directory = await temporaryDirectory(t)
    const file = join(directory, 'plain-file')
    await writeFile(file, 'not a database')
    await assert.rejects(new LevelDbStore(file).open({ lockWaitMs: 5000 }), (error: Error) => {
      assert.ok(error instanceof StoreError)
      assert.match(error.message, new RegExp(`^open ${file}: .*(EEXIST|not a directory|Not a directory)`))
      return true
    })
    const holder = new LevelDbStore(join(directory, 'db'))
    await holder.open()
    // Given up on after lockWaitMs, saying it is locked.
    const started = Date.now()
    let locked: Error | null = null
    await assert.rejects(
      new LevelDbStore(join(directory, 'db')).open({ lockWaitMs: 300, onLocked: (cause) => (locked = cause) }),
      /lock/i,
    )
    assert.ok(Date.now() - started >= 300)
    assert.match(String(locked), /lock/i)
    // Released while waiting: it opens, and reads what the holder wrote.
    const { doc, updates } = editedDocument(3)
    await holder.append('handed-over', updates)
    const waiting = new LevelDbStore(join(directory, 'db'))
    const opening = waiting.open({ lockWaitMs: 5000 })
    setTimeout(() => void holder.close(), 200)
    await opening
    const loaded = new Y.Doc()
    Y.applyUpdate(loaded, (await waiting.load('handed-over'))!)
    assert.equal(loaded.getText('text').toString(), doc.getText('text').toString())
    await waiting.close()
  })

  it('[LS8] close does not wait for compactions queued in the background', async (t) => {
    const directory = await temporaryDirectory(t)
    const store = new LevelDbStore(directory, { compactAfter: Number.POSITIVE_INFINITY })
    const names = Array.from({ length: 500 }, (_, i) => `doc-${i}`)
    const { updates } = editedDocument(20)
    await Promise.all(names.flatMap((name) => updates.map((update) => store.append(name, [update]))))
    const compactions = names.map((name) => store.compact(name))
    await new Promise((resolve) => setImmediate(resolve))
    await store.close()
    // Dropped ones resolve: there is nothing to report to whoever asked.
    await Promise.all(compactions)
    // Read back with plain y-leveldb: how many documents still have all 20 updates.
    const plain = new LeveldbPersistence(directory)
    const { getLevelUpdates } = await import('y-leveldb')
    let compacted = 0
    for (const name of names) {
      const stored = await plain._transact((db) => getLevelUpdates(db, name))
      if (stored.length < updates.length) compacted += 1
    }
    await plain.destroy()
    assert.ok(compacted < 100, `${compacted} of 500 queued compactions ran at close`)
  })

  it('[OB15] outbox records of an acknowledged append survive SIGKILL, and every outbox write is fsynced', async (t) => {
    const directory = await temporaryDirectory(t)
    // A process that appends with records, says so once acknowledged, and is killed.
    const child = spawn(process.execPath, [
      '--conditions=tandem-source', '--import', 'tsx', '--input-type=module', '-e', `
        import * as Y from 'yjs'
        import { LevelDbStore } from ${JSON.stringify(new URL('./leveldb-store.ts', import.meta.url).href)}
        const store = new LevelDbStore(process.env.OB15_DIRECTORY)
        const doc = new Y.Doc()
        doc.getText('text').insert(0, 'kept')
        const at = new Date()
        await store.append('ob15', [Y.encodeStateAsUpdate(doc)], [
          { type: 'document.created', document: 'ob15', at, editors: ['ann'] },
          { type: 'document.updated', document: 'ob15', at, editors: ['ann'] },
        ])
        process.stdout.write('stored\\n')
        setInterval(() => {}, 1000)
      `,
    ], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, OB15_DIRECTORY: directory },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = once(child, 'exit')
    let output = ''
    for await (const chunk of child.stdout) {
      output += String(chunk)
      if (output.includes('stored')) break
    }
    child.kill('SIGKILL')
    const [, signal] = await exited
    assert.equal(signal, 'SIGKILL')

    const syncs: Array<boolean | undefined> = []
    const store = new LevelDbStore(directory, {
      wrapDatabase: (db) => wrap(db, {
        batch: (operations, options) => {
          syncs.push(options?.sync)
          return db.batch(operations, options)
        },
      }),
    })
    t.after(() => store.close())
    assert.ok(await store.load('ob15') !== null)
    assert.equal(await store.outbox.depth(), 2)
    await store.outbox.saveEndpoint({
      id: 'a',
      url: 'https://example.com/hook',
      events: ['document.created', 'document.updated'],
      documents: null,
      format: null,
      secret: 'whsec_a',
      createdAt: new Date(),
      disabledAt: null,
      failingSince: null,
    })
    const later = new Date(Date.now() + 60_000)
    assert.equal(await store.outbox.promote(later, { quietMs: 2000, maxWaitMs: 10_000 }, () => ['a']), 2)
    const [claimed] = await store.outbox.claim(later, 1, 1000)
    await store.outbox.settle(claimed!.id, {
      at: later, ok: true, status: 200, error: null, nextAttemptAt: null,
    })
    await store.outbox.retryDelivery('a', claimed!.id, later)
    await store.outbox.deleteEndpoint('a')
    await store.delete('ob15', [{ type: 'document.deleted', document: 'ob15', at: later, editors: [] }])
    await store.saveVersion('ob15-v', { label: null, author: null, state: new Uint8Array([0, 0]) }, {
      records: [{ type: 'version.created', document: 'ob15-v', at: later, editors: [] }],
    })
    assert.ok(syncs.length >= 9, `${syncs.length} batches`)
    assert.deepEqual(syncs, syncs.map(() => true))
  })
})

/** The database with some of its methods replaced. */
function wrap(db: Level, overrides: Partial<Pick<Level, 'batch'>>): Level {
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property in overrides) return overrides[property as keyof typeof overrides]
      const value = Reflect.get(target, property, receiver) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}
