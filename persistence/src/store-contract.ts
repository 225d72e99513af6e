import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as Y from 'yjs'
import type { DocumentStore } from './document-store.js'
import { StoreError } from './document-store.js'

/** A fresh, empty store and a way to throw it away. */
export interface StoreFixture {
  readonly store: DocumentStore
  dispose(): Promise<void>
}

/**
 * The rules every `DocumentStore` keeps. A store's test file calls this with a factory;
 * rule ids ([DS1] …) are stable so failures can be cited.
 */
export function describeDocumentStore(name: string, create: () => Promise<StoreFixture>): void {
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

    it('[DS9] after close every operation rejects with a StoreError', async () => {
      const own = await create()
      await own.store.append('ds9', editedDocument(1).updates)
      await own.store.close()
      await assert.rejects(own.store.load('ds9'), StoreError)
      await assert.rejects(own.store.append('ds9', editedDocument(1).updates), StoreError)
      await own.dispose()
    })
  })
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

function assertSameContent(update: Uint8Array | null, expected: Y.Doc): void {
  assert.ok(update !== null, 'the document should exist')
  const loaded = new Y.Doc()
  Y.applyUpdate(loaded, update)
  assert.equal(loaded.getText('text').toString(), expected.getText('text').toString())
  assert.deepEqual(Y.encodeStateVector(loaded), Y.encodeStateVector(expected))
}
