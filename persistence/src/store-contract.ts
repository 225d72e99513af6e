import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as Y from 'yjs'
import type { DocumentStore, VersionInfo } from './document-store.js'
import { DocumentDeletedError, StoreError } from './document-store.js'

/** A fresh, empty store and a way to throw it away. */
export interface StoreFixture {
  readonly store: DocumentStore
  /**
   * Closes the store and opens a new one on the same storage, as a restarted server
   * would; null for a store that keeps nothing past close, whose suite has no [DS15].
   */
  readonly reopen: (() => Promise<DocumentStore>) | null
  /** Closes whichever store is open (the reopened one included) and removes its storage. */
  dispose(): Promise<void>
}

/**
 * The rules every `DocumentStore` keeps. A store's test file calls this with a factory;
 * rule ids ([DS1] …) are stable so failures can be cited.
 */
export function describeDocumentStore(
  name: string,
  create: () => Promise<StoreFixture>,
  { persistent = true }: { readonly persistent?: boolean } = {},
): void {
  describe(`${name} keeps the DocumentStore contract`, () => {
    let fixture: StoreFixture
    let store: DocumentStore
    before(async () => {
      fixture = await create()
      store = fixture.store
    })
    after(() => fixture.dispose())

    it('[DS1] a document never written loads as null and has no info', async () => {
      assert.equal(await store.load('never-written'), null)
      assert.equal(await store.info('never-written'), null)
    })

    it('[DS2] load returns every appended update, merged', async () => {
      const { doc, updates } = editedDocument(20)
      for (const update of updates) await store.append('ds2', [update])
      assertSameContent(await store.load('ds2'), doc)
    })

    it('[DS3] one append of many updates is one group commit with all of them', async () => {
      const { doc, updates } = editedDocument(30)
      await store.append('ds3', updates)
      assertSameContent(await store.load('ds3'), doc)
      await store.append('ds3', [])
      assertSameContent(await store.load('ds3'), doc)
    })

    it('[DS4] compaction keeps every update and does not grow the document', async () => {
      const { doc, updates } = editedDocument(50)
      for (const update of updates) await store.append('ds4', [update])
      const before = await store.info('ds4')
      await store.compact('ds4')
      const after = await store.info('ds4')
      assertSameContent(await store.load('ds4'), doc)
      assert.ok(after !== null && before !== null && after.size <= before.size)
      await store.compact('never-written')
      assert.equal(await store.load('never-written'), null)
    })

    it('[DS5] info and list report name, stored size and last change', async () => {
      const start = Date.now()
      const { updates } = editedDocument(5)
      await store.append('ds5-b', updates)
      await store.append('ds5-a', updates)
      const info = await store.info('ds5-a')
      assert.ok(info !== null)
      assert.equal(info.name, 'ds5-a')
      assert.ok(info.size > 0)
      assert.ok(info.updatedAt.getTime() >= start - 1000 && info.updatedAt.getTime() <= Date.now())
      const names = (await store.list()).map((entry) => entry.name)
      assert.ok(names.includes('ds5-a') && names.includes('ds5-b'))
      assert.deepEqual(names, [...names].sort())
    })

    it('[DS6] documents whose names share a prefix stay apart', async () => {
      const a = editedDocument(3, 'a')
      const b = editedDocument(3, 'b')
      await store.append('ds6', a.updates)
      await store.append('ds6-suffix', b.updates)
      assertSameContent(await store.load('ds6'), a.doc)
      assertSameContent(await store.load('ds6-suffix'), b.doc)
    })

    it('[DS7] delete removes the document and nothing else', async () => {
      const { doc, updates } = editedDocument(3)
      await store.append('ds7', updates)
      await store.append('ds7-kept', updates)
      await store.delete('ds7')
      assert.equal(await store.load('ds7'), null)
      assert.equal(await store.info('ds7'), null)
      assert.ok(!(await store.list()).some((entry) => entry.name === 'ds7'))
      assertSameContent(await store.load('ds7-kept'), doc)
      await store.undelete('ds7')
      await store.append('ds7', updates)
      assertSameContent(await store.load('ds7'), doc)
    })

    it('[DS8] names are stored as given, Unicode included', async () => {
      const { doc, updates } = editedDocument(2)
      const unicode = 'Überblick:2026~notes.日本'
      await store.append(unicode, updates)
      assertSameContent(await store.load(unicode), doc)
      assert.ok((await store.list()).some((entry) => entry.name === unicode))
    })

    it('[DS10] versions keep the state they were given, newest first, with label and author', async () => {
      const first = editedDocument(3)
      const second = editedDocument(6)
      const a = await store.saveVersion('ds10', { label: 'draft', author: 'ada', state: Y.encodeStateAsUpdate(first.doc) })
      const b = await store.saveVersion('ds10', { label: null, author: null, state: Y.encodeStateAsUpdate(second.doc) })
      assert.notEqual(a.id, b.id)
      assert.equal(a.label, 'draft')
      assert.equal(a.author, 'ada')
      assert.ok(a.size > 0 && a.createdAt instanceof Date)
      const listed = await store.listVersions('ds10')
      assert.deepEqual(listed.map((version) => version.id), [b.id, a.id])
      assert.deepEqual(listed[1], a)
      assertSameContent(await store.loadVersion('ds10', a.id), first.doc)
      assertSameContent(await store.loadVersion('ds10', b.id), second.doc)
      assert.equal(await store.loadVersion('ds10', 'no-such-version'), null)
      assert.deepEqual(await store.listVersions('ds10-other'), [])
    })

    it('[DS11] versions do not count as document content, and go when the document is deleted', async () => {
      const { doc, updates } = editedDocument(2)
      await store.append('ds11', updates)
      const version = await store.saveVersion('ds11', { label: null, author: null, state: Y.encodeStateAsUpdate(doc) })
      assertSameContent(await store.load('ds11'), doc)
      await store.compact('ds11')
      assert.equal((await store.listVersions('ds11')).length, 1)
      await store.delete('ds11')
      assert.deepEqual(await store.listVersions('ds11'), [])
      assert.equal(await store.loadVersion('ds11', version.id), null)
    })

    it('[DS17] pages of versions, each starting before the last id of the one before, hold every version once, newest first', async () => {
      const { doc } = editedDocument(2)
      const state = Y.encodeStateAsUpdate(doc)
      const saved: VersionInfo[] = []
      for (let i = 0; i < 7; i++) {
        saved.push(await store.saveVersion('ds17', { label: i % 3 === 0 ? `v${i}` : null, author: null, state, kept: i % 3 === 0 }))
        // A neighbour whose name extends this one's, with versions in between.
        await store.saveVersion('ds17-neighbour', { label: null, author: null, state })
      }
      const newestFirst = saved.map((version) => version.id).reverse()
      assert.deepEqual((await store.listVersions('ds17')).map((version) => version.id), newestFirst)
      for (const limit of [1, 2, 3, 7, 100]) {
        const paged: string[] = []
        let before: string | undefined
        for (let page = 0; page < 10; page++) {
          const versions = await store.listVersions('ds17', { limit, before })
          assert.ok(versions.length <= limit, `a page of ${versions.length} with limit ${limit}`)
          if (versions.length === 0) break
          paged.push(...versions.map((version) => version.id))
          before = versions[versions.length - 1]!.id
        }
        assert.deepEqual(paged, newestFirst, `pages of ${limit}`)
      }
      const [first] = await store.listVersions('ds17', { limit: 1 })
      assert.deepEqual(first, saved[6])
      assert.deepEqual(await store.listVersions('ds17', { before: saved[0]!.id }), [])
      assert.deepEqual(
        (await store.listVersions('ds17', { before: saved[4]!.id, limit: 2 })).map((version) => version.id),
        [saved[3]!.id, saved[2]!.id],
      )
      // A cursor whose version is gone (retention deleted it) still marks a place.
      const between = `${saved[4]!.id.slice(0, 9)}-zzzzzz`
      assert.deepEqual(
        (await store.listVersions('ds17', { before: between })).map((version) => version.id),
        newestFirst.slice(2),
      )
      assert.deepEqual(await store.listVersions('ds17-never', { limit: 5 }), [])
    })

    it('[DS18] retention keeps the newest unkept versions and every kept one, and touches no other document', async () => {
      const { doc } = editedDocument(2)
      const state = Y.encodeStateAsUpdate(doc)
      const save = (name: string, kept: boolean, retention?: number) =>
        store.saveVersion(name, { label: kept ? 'named' : null, author: kept ? 'ada' : null, state, kept }, { retention })
      const neighbour = [await save('ds18-neighbour', false), await save('ds18-neighbour', false)]
      const plan = [false, true, false, false, true, false, false, false, true]
      const saved: VersionInfo[] = []
      for (const kept of plan) {
        const version = await save('ds18', kept, 3)
        assert.equal(version.kept, kept)
        saved.push(version)
        // After every save: every kept version so far, and the newest three that are not.
        const expected = [
          ...saved.filter((entry) => !entry.kept).slice(-3),
          ...saved.filter((entry) => entry.kept),
        ].map((entry) => entry.id).sort().reverse()
        assert.deepEqual((await store.listVersions('ds18')).map((entry) => entry.id), expected)
      }
      const survivors = new Set((await store.listVersions('ds18')).map((entry) => entry.id))
      for (const version of saved) {
        if (survivors.has(version.id)) assertSameContent(await store.loadVersion('ds18', version.id), doc)
        else assert.equal(await store.loadVersion('ds18', version.id), null, 'a deleted version still loads')
      }
      // A lower retention applies at the next save; without one, nothing is deleted.
      await save('ds18', false)
      assert.equal((await store.listVersions('ds18')).filter((entry) => !entry.kept).length, 4)
      await save('ds18', true, 1)
      assert.deepEqual(
        (await store.listVersions('ds18')).map((entry) => entry.kept),
        [true, false, true, true, true],
      )
      assert.deepEqual((await store.listVersions('ds18-neighbour')).map((entry) => entry.id), neighbour.map((entry) => entry.id).reverse())
    })

    it('[DS19] a deleted document stays deleted: it loads as null, and appends to it are refused', async () => {
      const { updates } = editedDocument(4)
      await store.append('ds19', updates)
      await store.saveVersion('ds19', { label: null, author: null, state: updates[0]! })
      assert.equal(await store.isDeleted('ds19'), false)
      await store.delete('ds19')
      assert.equal(await store.isDeleted('ds19'), true)
      // What a client that had it open would send back when it reconnects.
      await assert.rejects(store.append('ds19', updates), DocumentDeletedError)
      await assert.rejects(store.append('ds19', [updates[3]!]), StoreError)
      assert.equal(await store.load('ds19'), null)
      assert.equal(await store.info('ds19'), null)
      assert.ok(!(await store.list()).some((entry) => entry.name === 'ds19'))
      assert.deepEqual(await store.listVersions('ds19'), [])
      // Deleting again, or compacting, brings nothing back.
      await store.delete('ds19')
      await store.compact('ds19')
      assert.equal(await store.load('ds19'), null)
      assert.equal(await store.isDeleted('ds19'), true)
      assert.equal(await store.isDeleted('ds19-never'), false)
    })

    it('[DS20] a refused append to a deleted document fails no other append of its turn', async () => {
      const a = editedDocument(3, 'a')
      const b = editedDocument(3, 'b')
      await store.append('ds20-gone', a.updates)
      await store.delete('ds20-gone')
      const results = await Promise.allSettled([
        store.append('ds20-gone', a.updates),
        store.append('ds20-live', b.updates),
      ])
      assert.equal(results[0]!.status, 'rejected')
      assert.ok((results[0] as PromiseRejectedResult).reason instanceof DocumentDeletedError)
      assert.equal(results[1]!.status, 'fulfilled')
      assertSameContent(await store.load('ds20-live'), b.doc)
      assert.equal(await store.load('ds20-gone'), null)
    })

    it('[DS21] undelete, a document created again on purpose, clears the tombstone and only that one', async () => {
      const old = editedDocument(5, 'old')
      const fresh = editedDocument(2, 'new')
      await store.append('ds21', old.updates)
      await store.append('ds21-other', old.updates)
      await store.delete('ds21')
      await store.delete('ds21-other')
      await store.undelete('ds21')
      assert.equal(await store.isDeleted('ds21'), false)
      assert.equal(await store.load('ds21'), null, 'undelete brings no old content back')
      await store.append('ds21', fresh.updates)
      assertSameContent(await store.load('ds21'), fresh.doc)
      assert.equal(await store.isDeleted('ds21-other'), true)
      await assert.rejects(store.append('ds21-other', old.updates), DocumentDeletedError)
      // Undeleting a name that was never deleted changes nothing.
      await store.undelete('ds21-never')
      await store.undelete('ds21')
      assertSameContent(await store.load('ds21'), fresh.doc)
    })

    it('[DS9] after close every operation rejects with a StoreError', async (t) => {
      const own = await create()
      t.after(() => own.dispose())
      await own.store.append('ds9', editedDocument(1).updates)
      await own.store.close()
      await assert.rejects(own.store.load('ds9'), StoreError)
      await assert.rejects(own.store.append('ds9', editedDocument(1).updates), StoreError)
    })

    it('[DS12] an append of bytes that are not a Yjs update rejects with a StoreError, stores nothing and fails no other append', async () => {
      const { doc, updates } = editedDocument(8)
      const earlier = updates.slice(0, 4)
      const later = updates.slice(4)
      await store.append('ds12', earlier)
      await store.append('ds12-twin', earlier)
      const before = await store.info('ds12')
      const broken = [
        new Uint8Array([255, 255, 255, 255]),
        // Whole structs, but the delete set cut off: readers that skip it take this for valid.
        editedDocument(1, 'cut').updates[0]!.slice(0, -1),
      ]
      for (const bad of broken) {
        // In one turn, beside a good append to another document, as a group commit sees them.
        const neighbour = editedDocument(2, 'n')
        const results = await Promise.allSettled([
          store.append('ds12', [bad]),
          store.append('ds12', [later[0]!, bad]),
          store.append('ds12-new', [bad]),
          store.append('ds12-neighbour', neighbour.updates),
        ])
        for (const [index, result] of results.slice(0, 3).entries()) {
          assert.equal(result.status, 'rejected', `bad append ${index} should reject`)
          assert.ok((result as PromiseRejectedResult).reason instanceof StoreError)
        }
        assert.equal(results[3]!.status, 'fulfilled', 'a good append beside a bad one should be stored')
        assertSameContent(await store.load('ds12-neighbour'), neighbour.doc)
        await store.delete('ds12-neighbour')
        await store.undelete('ds12-neighbour')
      }
      assert.deepEqual(await store.info('ds12'), before)
      assertSameContent(await store.load('ds12'), documentOf(earlier))
      assert.equal(await store.load('ds12-new'), null)
      assert.equal(await store.info('ds12-new'), null)
      assert.ok(!(await store.list()).some((entry) => entry.name === 'ds12-new'))
      // Nor does any of it turn up with the next append.
      await store.append('ds12', later)
      await store.append('ds12-twin', later)
      assertSameContent(await store.load('ds12'), doc)
      assert.equal((await store.info('ds12'))?.size, (await store.info('ds12-twin'))?.size)
    })

    it('[DS13] appends started together, without waiting, all survive', async () => {
      const a = editedDocument(60, 'a')
      const b = editedDocument(60, 'b')
      const appends: Array<Promise<void>> = []
      for (let i = 0; i < a.updates.length; i++) {
        // Every update depends on the one before, so a lost one shows in the loaded state (and
        // leaves the ones after it pending). Yjs updates commute: their stored order is free.
        appends.push(store.append('ds13-a', [a.updates[i]!]))
        if (i % 3 === 0) appends.push(store.append('ds13-b', b.updates.slice(i, i + 3)))
        // The next ones arrive while the writes before them are under way.
        if (i % 20 === 19) await nextTurn()
      }
      await Promise.all(appends)
      assertSameContent(await store.load('ds13-a'), a.doc)
      assertSameContent(await store.load('ds13-b'), b.doc)
    })

    it('[DS14] appends made while the document compacts survive the compaction', async () => {
      const { doc, updates } = editedDocument(60)
      for (const update of updates.slice(0, 40)) await store.append('ds14', [update])
      const compacting = store.compact('ds14')
      const appends = updates.slice(40, 50).map((update) => store.append('ds14', [update]))
      await nextTurn()
      appends.push(...updates.slice(50).map((update) => store.append('ds14', [update])))
      await Promise.all([compacting, ...appends])
      assertSameContent(await store.load('ds14'), doc)
      await store.compact('ds14')
      assertSameContent(await store.load('ds14'), doc)
    })

    // A store that keeps nothing past close has no such rule to keep (rather than a skipped test).
    if (persistent) it('[DS15] a reopened store has every document, version and info it had, and the appends made as it closed', async (t) => {
      const own = await create()
      t.after(() => own.dispose())
      assert.ok(own.reopen !== null, 'a persistent store\'s fixture must reopen it')
      const a = editedDocument(40, 'a')
      const b = editedDocument(20, 'b')
      const c = editedDocument(5, 'c')
      for (const update of a.updates.slice(0, 20)) await own.store.append('ds15-a', [update])
      await own.store.append('ds15-b', b.updates)
      await own.store.compact('ds15-b')
      await own.store.append('ds15-gone', c.updates)
      await own.store.delete('ds15-gone')
      await own.store.saveVersion('ds15-a', { label: 'kept', author: 'ada', state: Y.encodeStateAsUpdate(b.doc), kept: true })
      // Labelled but not kept, as the server's own versions are: the flag must survive too.
      await own.store.saveVersion('ds15-a', { label: 'before restore', author: 'ada', state: Y.encodeStateAsUpdate(b.doc) })
      const listed = await own.store.list()
      const versions = await own.store.listVersions('ds15-a')
      // Close waits for pending writes, so this one is stored though nobody awaited it yet.
      const closing = own.store.append('ds15-c', c.updates)
      const reopened = await own.reopen()
      await closing
      assertSameContent(await reopened.load('ds15-b'), b.doc)
      assertSameContent(await reopened.load('ds15-c'), c.doc)
      assert.equal(await reopened.load('ds15-gone'), null)
      assert.deepEqual((await reopened.list()).filter((entry) => entry.name !== 'ds15-c'), listed)
      assert.deepEqual(await reopened.listVersions('ds15-a'), versions)
      assert.deepEqual(versions.map((version) => version.kept), [false, true])
      assertSameContent(await reopened.loadVersion('ds15-a', versions[0]!.id), b.doc)
      // Writing goes on where it left off, and compacts with what was there.
      for (const update of a.updates.slice(20)) await reopened.append('ds15-a', [update])
      assertSameContent(await reopened.load('ds15-a'), a.doc)
      await reopened.compact('ds15-a')
      assertSameContent(await reopened.load('ds15-a'), a.doc)
    })

    if (persistent) it('[DS22] a reopened store keeps its tombstones, and an undelete', async (t) => {
      const own = await create()
      t.after(() => own.dispose())
      assert.ok(own.reopen !== null, 'a persistent store\'s fixture must reopen it')
      const { doc, updates } = editedDocument(4)
      await own.store.append('ds22-gone', updates)
      await own.store.append('ds22-back', updates)
      await own.store.delete('ds22-gone')
      await own.store.delete('ds22-back')
      await own.store.undelete('ds22-back')
      const reopened = await own.reopen()
      assert.equal(await reopened.isDeleted('ds22-gone'), true)
      assert.equal(await reopened.load('ds22-gone'), null)
      await assert.rejects(reopened.append('ds22-gone', updates), DocumentDeletedError)
      assert.equal(await reopened.isDeleted('ds22-back'), false)
      await reopened.append('ds22-back', updates)
      assertSameContent(await reopened.load('ds22-back'), doc)
      assert.deepEqual((await reopened.list()).map((entry) => entry.name), ['ds22-back'])
    })

    it('[DS30] checkWritable resolves while the store can write, leaves nothing behind, and rejects once closed', async (t) => {
      const own = await create()
      t.after(() => own.dispose())
      const { doc, updates } = editedDocument(3)
      await own.store.append('ds22', updates)
      const listed = await own.store.list()
      await own.store.checkWritable()
      await own.store.checkWritable()
      assert.deepEqual(await own.store.list(), listed)
      assertSameContent(await own.store.load('ds22'), doc)
      await own.store.close()
      await assert.rejects(own.store.checkWritable(), StoreError)
    })

    it('[DS31] appends to one document are not held back while another compacts a long history', async (t) => {
      const own = await create()
      t.after(() => own.dispose())
      const history = longHistory(100_000)
      // One turn: one group commit of 100,000 stored updates.
      await Promise.all(history.updates.map((update) => own.store.append('ds23-long', [update])))
      const writer = editedDocument(2000, 'w')
      const acks: number[] = []
      let compacted = false
      const began = performance.now()
      const compaction = own.store.compact('ds23-long').finally(() => {
        compacted = true
      })
      // A writer appends to another document every 5 ms while the compaction runs.
      let written = 0
      do {
        const start = performance.now()
        await own.store.append('ds23-writer', [writer.updates[written++]!])
        acks.push(performance.now() - start)
        await sleep(5)
      } while (!compacted && written < writer.updates.length)
      await compaction
      const compactMs = performance.now() - began
      const worst = Math.max(...acks)
      // Waiting behind the compaction would take about all of it. On a machine busy with
      // tests in parallel (two cores) the compaction crawls and one fsync may stall for half
      // of it, so the bound grows with it, still short of all of it.
      assert.ok(
        worst < Math.max(200, compactMs * 0.6),
        `an append waited ${worst.toFixed(0)} ms while the compaction took ${compactMs.toFixed(0)} ms`,
      )
      assertSameContent(await own.store.load('ds23-long'), history.doc)
      assertSameContent(await own.store.load('ds23-writer'), documentOf(writer.updates.slice(0, written)))
    })

    it('[DS16] an empty store lists nothing, nor does one whose every document was deleted', async (t) => {
      const own = await create()
      t.after(() => own.dispose())
      assert.deepEqual(await own.store.list(), [])
      const { doc, updates } = editedDocument(3)
      await own.store.append('ds16', updates)
      await own.store.saveVersion('ds16', { label: null, author: null, state: Y.encodeStateAsUpdate(doc) })
      await own.store.delete('ds16')
      assert.deepEqual(await own.store.list(), [])
    })
  })
}

/** A Y.Doc typed into `count` times, a character each, with every update: a long history, fast. */
export function longHistory(count: number): { doc: Y.Doc, updates: Uint8Array[] } {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const text = doc.getText('text')
  for (let i = 0; i < count; i++) text.insert(0, String.fromCharCode(97 + (i % 26)))
  return { doc, updates }
}

/** A Y.Doc edited `count` times, with the update of every edit. */
export function editedDocument(count: number, prefix = 'x'): { doc: Y.Doc, updates: Uint8Array[] } {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const text = doc.getText('text')
  for (let i = 0; i < count; i++) {
    text.insert(text.length, `${prefix}${i} `)
    if (i % 4 === 3) text.delete(0, 2)
  }
  return { doc, updates }
}

/** The document `updates` build. */
function documentOf(updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves after the current event-loop turn (appends made in it are one group). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Asserts that `update` holds exactly what `expected` holds. */
export function assertSameContent(update: Uint8Array | null, expected: Y.Doc): void {
  assert.ok(update !== null, 'the document should exist')
  const loaded = new Y.Doc()
  Y.applyUpdate(loaded, update)
  assert.equal(loaded.getText('text').toString(), expected.getText('text').toString())
  assert.deepEqual(Y.encodeStateVector(loaded), Y.encodeStateVector(expected))
}
