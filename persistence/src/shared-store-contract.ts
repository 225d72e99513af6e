import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as Y from 'yjs'
import { DocumentDeletedError } from './document-store.js'
import type { SharedDocumentStore } from './shared-store.js'
import { editedDocument, nextTurn } from './store-contract.js'

/** A fresh, empty shared store, a second one on the same storage, and a way to throw both away. */
export interface SharedStoreFixture {
  readonly store: SharedDocumentStore
  /**
   * Another store on the same storage, as a second server instance has (for Postgres,
   * another pool); closed by `dispose`.
   */
  second(): Promise<SharedDocumentStore>
  /** Closes every store the fixture opened and removes their storage. */
  dispose(): Promise<void>
}

/**
 * The rules a `SharedDocumentStore` keeps besides the `DocumentStore` ones. Rule ids
 * ([SS1] …) are stable so failures can be cited.
 */
export function describeSharedStore(name: string, create: () => Promise<SharedStoreFixture>): void {
  describe(`${name} keeps the SharedDocumentStore contract`, () => {
    let fixture: SharedStoreFixture
    let store: SharedDocumentStore
    before(async () => {
      fixture = await create()
      store = fixture.store
    })
    after(() => fixture.dispose())

    it('[SS1] each append gets the next revision, in the order appends are stored', async () => {
      const { updates } = editedDocument(12)
      for (const [index, update] of updates.slice(0, 4).entries()) {
        assert.equal(await store.appendAt('ss1', [update]), index + 1)
      }
      // Started together: one revision each, consecutive, whatever order they commit in.
      const independent = independentUpdates(20)
      const revisions = await Promise.all(independent.map((update) => store.appendAt('ss1', [update])))
      assert.deepEqual([...revisions].sort((a, b) => a - b), range(5, 24))
      // The update of revision r is what comes after r - 1, and not after r.
      for (const [index, revision] of revisions.entries()) {
        const client = clientOf(independent[index]!)
        assert.ok(clientsOf((await store.changesSince('ss1', revision - 1)).update).has(client))
        assert.ok(!clientsOf((await store.changesSince('ss1', revision)).update).has(client))
      }
      assert.equal((await store.loadAtRevision('ss1')).revision, 24)
    })

    it('[SS2] appendAt of no updates returns the current revision and writes nothing', async () => {
      assert.equal(await store.appendAt('ss2', []), 0)
      assert.equal(await store.info('ss2'), null)
      const { updates } = editedDocument(3)
      await store.appendAt('ss2', updates.slice(0, 2))
      await store.appendAt('ss2', updates.slice(2))
      const info = await store.info('ss2')
      assert.equal(await store.appendAt('ss2', []), 2)
      assert.deepEqual(await store.info('ss2'), info)
      assert.equal((await store.loadAtRevision('ss2')).revision, 2)
    })

    it('[SS3] changesSince returns exactly what was appended after a revision', async () => {
      const { doc, updates } = editedDocument(10)
      for (const update of updates) await store.appendAt('ss3', [update])
      for (let revision = 0; revision < updates.length; revision++) {
        const changes = await store.changesSince('ss3', revision)
        assert.equal(changes.revision, updates.length)
        assert.ok(changes.update !== null)
        // It starts where the first `revision` updates end: nothing before is in it.
        assertStartsAfter(changes.update, updates.slice(0, revision))
        assertSameState(documentOf([...updates.slice(0, revision), changes.update]), doc)
      }
      assert.deepEqual(await store.changesSince('ss3', updates.length), { update: null, revision: updates.length })
      assert.deepEqual(await store.changesSince('ss3-never', 0), { update: null, revision: 0 })
    })

    it('[SS4] after compaction changesSince still brings a reader up to date, and the revision stays', async () => {
      const { doc, updates } = editedDocument(30)
      const last = updates.length
      for (const update of updates.slice(0, 20)) await store.appendAt('ss4', [update])
      await store.compact('ss4')
      assert.equal((await store.loadAtRevision('ss4')).revision, 20)
      assert.equal(await store.appendAt('ss4', [updates[20]!]), 21)
      for (const update of updates.slice(21)) await store.appendAt('ss4', [update])
      for (const revision of [0, 5, 19, 20, 25]) {
        const changes = await store.changesSince('ss4', revision)
        assert.equal(changes.revision, last)
        assertSameState(documentOf([...updates.slice(0, revision), changes.update!]), doc)
      }
      assertStartsAfter((await store.changesSince('ss4', 25)).update!, updates.slice(0, 25))
      assert.deepEqual(await store.changesSince('ss4', last), { update: null, revision: last })
    })

    it('[SS5] revisions gives every named document that exists, and omits unknown and deleted ones', async () => {
      const { updates } = editedDocument(3)
      await store.appendAt('ss5-a', updates)
      for (const update of updates) await store.appendAt('ss5-b', [update])
      await store.appendAt('ss5-gone', updates)
      await store.delete('ss5-gone')
      const revisions = await store.revisions(['ss5-a', 'ss5-b', 'ss5-gone', 'ss5-never'])
      assert.deepEqual(revisions, new Map([['ss5-a', 1], ['ss5-b', 3]]))
      assert.deepEqual(await store.revisions([]), new Map())
    })

    it('[SS6] a document deleted and undeleted starts again from revision 1 with nothing of the old', async () => {
      const old = editedDocument(4, 'old')
      const fresh = editedDocument(2, 'new')
      for (const update of old.updates) await store.appendAt('ss6', [update])
      await store.delete('ss6')
      assert.deepEqual(await store.loadAtRevision('ss6'), { state: null, revision: 0 })
      await store.undelete('ss6')
      assert.equal(await store.appendAt('ss6', []), 0)
      assert.equal(await store.appendAt('ss6', fresh.updates), 1)
      assert.deepEqual(await store.revisions(['ss6']), new Map([['ss6', 1]]))
      const changes = await store.changesSince('ss6', 0)
      assertSameState(documentOf([changes.update!]), fresh.doc)
      assert.equal(changes.revision, 1)
    })

    it('[SS7] loadAtRevision reads the state and its revision at one moment, while appends go on', async () => {
      const updates = independentUpdates(60)
      const clientAt = new Map<number, number>()
      const appends = updates.map(async (update) => {
        clientAt.set(await store.appendAt('ss7', [update]), clientOf(update))
      })
      const loads: Array<ReturnType<SharedDocumentStore['loadAtRevision']>> = []
      for (let i = 0; i < 6; i++) {
        loads.push(store.loadAtRevision('ss7'))
        await nextTurn()
      }
      await Promise.all(appends)
      for (const { state, revision } of await Promise.all(loads)) {
        const expected = new Set(range(1, revision).map((r) => clientAt.get(r)!))
        assert.deepEqual(state === null ? new Set() : clientsOf(state), expected, `at revision ${revision}`)
      }
      const { state, revision } = await store.loadAtRevision('ss7')
      assert.equal(revision, 60)
      assert.equal(clientsOf(state).size, 60)
      assert.deepEqual(await store.loadAtRevision('ss7-never'), { state: null, revision: 0 })
    })

    it('[SS8] two stores on the same storage see each other\'s appends, revisions and deletes', async () => {
      const other = await fixture.second()
      const { doc, updates } = editedDocument(10)
      const revisions: number[] = []
      for (const [index, update] of updates.entries()) {
        revisions.push(await (index % 2 === 0 ? store : other).appendAt('ss8', [update]))
      }
      assert.deepEqual(revisions, range(1, updates.length))
      assertSameState(documentOf([(await other.load('ss8'))!]), doc)
      assertSameState(documentOf([(await store.load('ss8'))!]), doc)
      assert.deepEqual(await other.revisions(['ss8']), new Map([['ss8', updates.length]]))
      assertStartsAfter((await store.changesSince('ss8', 9)).update!, updates.slice(0, 9))
      assertStartsAfter((await other.changesSince('ss8', 9)).update!, updates.slice(0, 9))
      await other.delete('ss8')
      assert.equal(await store.isDeleted('ss8'), true)
      await assert.rejects(store.appendAt('ss8', [updates[0]!]), DocumentDeletedError)
    })
  })
}

/** Updates of `count` documents, one insert each: any order applies them, each has its own client. */
function independentUpdates(count: number): Uint8Array[] {
  return range(1, count).map((i) => {
    const doc = new Y.Doc()
    doc.getText('text').insert(0, `u${i} `)
    return Y.encodeStateAsUpdate(doc)
  })
}

function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, index) => first + index)
}

function clientOf(update: Uint8Array): number {
  const [client] = Y.parseUpdateMeta(update).to.keys()
  assert.ok(client !== undefined)
  return client
}

function clientsOf(update: Uint8Array | null): Set<number> {
  return update === null ? new Set() : new Set(Y.parseUpdateMeta(update).to.keys())
}

function documentOf(updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc
}

/** `update` holds nothing of `earlier`: each of its clients starts where `earlier` ends. */
function assertStartsAfter(update: Uint8Array, earlier: readonly Uint8Array[]): void {
  const stateVector = Y.decodeStateVector(Y.encodeStateVector(documentOf(earlier)))
  for (const [client, clock] of Y.parseUpdateMeta(update).from) {
    assert.equal(clock, stateVector.get(client) ?? 0, `after ${earlier.length} updates`)
  }
}

function assertSameState(loaded: Y.Doc, expected: Y.Doc): void {
  assert.equal(loaded.getText('text').toString(), expected.getText('text').toString())
  assert.deepEqual(Y.encodeStateVector(loaded), Y.encodeStateVector(expected))
}
