import * as buffer from 'lib0/buffer'
import * as encoding from 'lib0/encoding'
import { getAllDocsKeys, getLevelUpdatesEntries, LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import type {
  DocumentInfo,
  DocumentStore,
  ListVersionsOptions,
  NewVersion,
  SaveVersionOptions,
  VersionInfo,
} from './document-store.js'
import { DocumentDeletedError, newVersionInfo, StoreError, versionsPastRetention } from './document-store.js'
import { mergeAll } from './merge.js'

export interface LevelDbStoreOptions {
  /** Compact a document once this many updates are stored for it. */
  readonly compactAfter?: number
  /** Hears about failures of work nobody awaits (compaction while a document is busy). */
  readonly onBackgroundError?: (error: unknown) => void
}

// The subset of abstract-level that the store uses; keys are y-leveldb's key arrays.
type Key = ReadonlyArray<string | number>
interface Level {
  getMany(keys: Key[]): Promise<Array<Uint8Array | undefined>>
  batch(
    operations: Array<{ type: 'put', key: Key, value: Uint8Array } | { type: 'del', key: Key }>,
  ): Promise<void>
  clear(range: { gte: Key, lt: Key }): Promise<void>
  compactRange(start: Key, end: Key): Promise<void>
  keys(range: Range): { all(): Promise<Key[]> }
  values(range: Range): { all(): Promise<Uint8Array[]> }
  close(): Promise<void>
}

interface Range {
  gte: Key
  lt: Key
  reverse?: boolean
  limit?: number
}

type Operation = { type: 'put', key: Key, value: Uint8Array } | { type: 'del', key: Key }

interface Tracked {
  /** Stored updates. */
  count: number
  /** The clock of the newest stored update; -1 when there is none. */
  last: number
  /** Bytes stored. */
  size: number
  /** It has a tombstone: appends are refused. */
  deleted: boolean
}

interface Meta {
  size: number
  updatedAt: number
}

// y-leveldb's on-disk layout, which every y-leveldb database shares; writing the same keys
// keeps a Tandem data directory readable by plain y-leveldb and the other way round.
const updateKey = (name: string, clock: number): Key => ['v1', name, 'update', clock]
const metaKey = (name: string): Key => ['v1', name, 'meta', 'tandem']
const stateVectorKey = (name: string): Key => ['v1_sv', name]
const firstKey = (name: string): Key => ['v1', name]
const lastKey = (name: string): Key => ['v1', name, 'zzzzzzz']
// Versions live inside the document's key range, so deleting a document deletes them.
// Key strings are length-prefixed: these must stay shorter than 'zzzzzzz' to sort before it.
const versionMetaKey = (name: string, id: string): Key => ['v1', name, 'vmeta', id]
const versionStateKey = (name: string, id: string): Key => ['v1', name, 'vstate', id]
// Every version id has the same length, so their keys sort as the ids do.
const versionsRange = (name: string): Range => ({ gte: ['v1', name, 'vmeta'], lt: ['v1', name, 'vmetb'] })
// Tombstones of deleted documents, outside y-leveldb's prefixes and the document's range.
const tombstoneKey = (name: string): Key => ['tandem_deleted', name]
const TOMBSTONE = new Uint8Array([1])

/**
 * Documents in a LevelDB directory, on y-leveldb.
 *
 * y-leveldb runs every operation of every document through one promise chain and swallows
 * errors inside it (logging them); each operation here runs inside that chain but reports
 * its own failure, so a failed write rejects instead of looking stored. An append is one
 * atomic LevelDB batch (update, metadata, and the state-vector key y-leveldb lists documents
 * by). y-leveldb compacts only when a document is loaded with over 500 updates; this store
 * also compacts, in one batch, when a document's stored update count passes `compactAfter`.
 */
export class LevelDbStore implements DocumentStore {
  readonly #persistence: LeveldbPersistence
  readonly #compactAfter: number
  readonly #onBackgroundError: (error: unknown) => void
  // What is on disk for the documents this process has touched, so appends read nothing.
  readonly #tracked = new Map<string, Tracked>()
  #queue: Array<{ name: string, update: Uint8Array, resolve(): void, reject(error: unknown): void }> = []
  /** Documents with a compaction queued, so a busy document queues one at a time. */
  readonly #compacting = new Set<string>()
  #closed = false

  constructor(directory: string, options: LevelDbStoreOptions = {}) {
    this.#persistence = new LeveldbPersistence(directory)
    this.#compactAfter = options.compactAfter ?? 200
    this.#onBackgroundError = options.onBackgroundError ?? ((error) => console.warn('LevelDbStore:', error))
  }

  load(name: string): Promise<Uint8Array | null> {
    return this.#run('load', name, async (db) => {
      // Values alone, without decoding 100,000 keys: the newest key is read on its own.
      const updates = await db.values(updatesRange(name)).all()
      if (updates.length === 0) return null
      const [newest] = await db.keys({ ...updatesRange(name), reverse: true, limit: 1 }).all()
      const last = newest![3] as number
      const [metaValue, tombstone] = await db.getMany([metaKey(name), tombstoneKey(name)])
      // Updates a crash left behind a tombstone (see delete) are not the document's.
      if (tombstone !== undefined) return null
      const size = metaValue === undefined
        ? updates.reduce((sum, update) => sum + update.byteLength, 0)
        : decodeMeta(metaValue).size
      this.#tracked.set(name, { count: updates.length, last, size, deleted: false })
      if (updates.length === 1) return updates[0]!
      const { state } = replay(updates)
      if (updates.length > this.#compactAfter) {
        // Queued, so the document is handed over first. It reads the updates again: appends
        // may land in between, and their keys follow the ones read here.
        this.compact(name).catch(this.#onBackgroundError)
      }
      return state
    })
  }

  append(name: string, updates: readonly Uint8Array[]): Promise<void> {
    if (updates.length === 0) return Promise.resolve()
    let update: Uint8Array
    try {
      update = decodableMerge(updates)
    } catch (cause) {
      // Rejected here, alone: in the group it would fail every append of the turn.
      return Promise.reject(new StoreError(`append ${name}: not a Yjs update: ${(cause as Error).message}`, { cause }))
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ name, update, resolve, reject })
      if (this.#queue.length === 1) setImmediate(() => this.#commit())
    })
  }

  /**
   * Writes every append of this event-loop turn, whatever their documents, as one atomic
   * LevelDB batch: one transaction in y-leveldb's chain instead of one per document.
   */
  #commit(): void {
    const group = this.#queue
    if (group.length === 0) return
    this.#queue = []
    const names = new Set(group.map((item) => item.name))
    const label = names.size === 1 ? group[0]!.name : `${names.size} documents`
    const refused = new Set<string>()
    this.#run('append', label, async (db) => {
      const operations: Operation[] = []
      const now = Date.now()
      for (const { name, update } of group) {
        const doc = await this.#track(db, name)
        if (doc.deleted) {
          refused.add(name)
          continue
        }
        const next = doc.last + 1
        operations.push({ type: 'put', key: updateKey(name, next), value: update })
        if (doc.last === -1) {
          operations.push({
            type: 'put',
            key: stateVectorKey(name),
            value: encodeStateVectorRecord(Y.encodeStateVectorFromUpdate(update), 0),
          })
        }
        doc.last = next
        doc.count += 1
        doc.size += update.byteLength
        operations.push({ type: 'put', key: metaKey(name), value: encodeMeta({ size: doc.size, updatedAt: now }) })
      }
      try {
        await db.batch(operations)
      } catch (error) {
        // What is tracked in memory ran ahead of the disk: read it again next time.
        for (const name of names) this.#tracked.delete(name)
        throw error
      }
    }).then(
      () => {
        for (const item of group) {
          if (refused.has(item.name)) item.reject(new DocumentDeletedError(item.name))
          else item.resolve()
        }
        for (const name of names) {
          if ((this.#tracked.get(name)?.count ?? 0) > this.#compactAfter) this.#compactInBackground(name)
        }
      },
      (error: unknown) => {
        for (const item of group) item.reject(error)
      },
    )
  }

  /** While a document is busy, compacts its updates but leaves LevelDB's files be. */
  #compactInBackground(name: string): void {
    if (this.#compacting.has(name)) return
    this.#compacting.add(name)
    this.#run('compact', name, async (db) => {
      await this.#compact(db, name, await getLevelUpdatesEntries(db, name))
    })
      .catch(this.#onBackgroundError)
      .finally(() => this.#compacting.delete(name))
  }

  /** Compacts, and has LevelDB rewrite the document's files so the space comes back. */
  compact(name: string): Promise<void> {
    return this.#run('compact', name, async (db) => {
      if (await this.#compact(db, name, await getLevelUpdatesEntries(db, name))) await reclaim(db, name)
    })
  }

  info(name: string): Promise<DocumentInfo | null> {
    return this.#run('info', name, (db) => this.#info(db, name))
  }

  list(): Promise<DocumentInfo[]> {
    return this.#run('list', '*', async (db) => {
      const names = (await getAllDocsKeys(db)).map((key) => key[1] as unknown as string)
      const infos: DocumentInfo[] = []
      for (const name of names.sort()) {
        const info = await this.#info(db, name)
        if (info !== null) infos.push(info)
      }
      return infos
    })
  }

  delete(name: string): Promise<void> {
    return this.#run('delete', name, async (db) => {
      // The tombstone first: a crash before the clear leaves updates that load ignores.
      await db.batch([
        { type: 'put', key: tombstoneKey(name), value: TOMBSTONE },
        { type: 'del', key: stateVectorKey(name) },
      ])
      await db.clear({ gte: firstKey(name), lt: lastKey(name) })
      this.#tracked.set(name, { count: 0, last: -1, size: 0, deleted: true })
    })
  }

  isDeleted(name: string): Promise<boolean> {
    return this.#run('check deletion of', name, async (db) => {
      const [tombstone] = await db.getMany([tombstoneKey(name)])
      return tombstone !== undefined
    })
  }

  undelete(name: string): Promise<void> {
    return this.#run('undelete', name, async (db) => {
      await db.batch([{ type: 'del', key: tombstoneKey(name) }])
      const doc = this.#tracked.get(name)
      if (doc !== undefined) doc.deleted = false
    })
  }

  saveVersion(name: string, version: NewVersion, options: SaveVersionOptions = {}): Promise<VersionInfo> {
    return this.#run('save version of', name, async (db) => {
      const info = newVersionInfo(version)
      const operations: Operation[] = [
        { type: 'put', key: versionStateKey(name, info.id), value: version.state },
        { type: 'put', key: versionMetaKey(name, info.id), value: encodeVersion(info) },
      ]
      if (options.retention !== undefined) {
        // Metadata only, a few dozen bytes a version; inside the chain, so no save runs between.
        const existing = (await db.values(versionsRange(name)).all()).map(decodeVersion)
        for (const past of versionsPastRetention([...existing, info], options.retention)) {
          operations.push({ type: 'del', key: versionMetaKey(name, past.id) })
          operations.push({ type: 'del', key: versionStateKey(name, past.id) })
        }
      }
      // One batch: the new version and the deletions it causes are stored together or not at all.
      await db.batch(operations)
      return info
    })
  }

  listVersions(name: string, { limit, before }: ListVersionsOptions = {}): Promise<VersionInfo[]> {
    return this.#run('list versions of', name, async (db) => {
      const range = versionsRange(name)
      const values = await db.values({
        gte: range.gte,
        lt: before === undefined ? range.lt : versionMetaKey(name, before),
        reverse: true,
        ...(limit === undefined ? {} : { limit }),
      }).all()
      return values.map(decodeVersion)
    })
  }

  loadVersion(name: string, id: string): Promise<Uint8Array | null> {
    return this.#run('load version of', name, async (db) => {
      const [state] = await db.getMany([versionStateKey(name, id)])
      return state ?? null
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    // Appends of this turn go into the chain before the close does.
    this.#commit()
    await this.#run('close', '*', (db) => db.close())
    this.#closed = true
  }

  async #compact(
    db: Level,
    name: string,
    entries: ReadonlyArray<{ key: Key, value: Uint8Array }>,
  ): Promise<boolean> {
    if (entries.length < 2) return false
    const { state, stateVector } = replay(entries.map((entry) => entry.value))
    await this.#writeCompacted(db, name, entries, state, stateVector)
    return true
  }

  /** Replaces `entries` with one update holding `state`, in one atomic batch. */
  async #writeCompacted(
    db: Level,
    name: string,
    entries: ReadonlyArray<{ key: Key, value: Uint8Array }>,
    state: Uint8Array,
    stateVector: Uint8Array,
  ): Promise<void> {
    const last = entries[entries.length - 1]!.key[3] as number
    const next = last + 1
    await db.batch([
      ...entries.map((entry) => ({ type: 'del' as const, key: entry.key })),
      { type: 'put', key: updateKey(name, next), value: state },
      { type: 'put', key: stateVectorKey(name), value: encodeStateVectorRecord(stateVector, next) },
      {
        type: 'put',
        key: metaKey(name),
        value: encodeMeta({ size: state.byteLength, updatedAt: await this.#updatedAt(db, name) }),
      },
    ])
    this.#tracked.set(name, { count: 1, last: next, size: state.byteLength, deleted: false })
  }

  async #track(db: Level, name: string): Promise<Tracked> {
    let doc = this.#tracked.get(name)
    if (doc === undefined) {
      const keys = await getLevelUpdatesEntries(db, name, { values: false })
      const last = keys.length === 0 ? -1 : (keys[keys.length - 1]!.key[3] as number)
      const [metaValue, tombstone] = await db.getMany([metaKey(name), tombstoneKey(name)])
      doc = {
        count: keys.length,
        last,
        size: metaValue === undefined ? 0 : decodeMeta(metaValue).size,
        deleted: tombstone !== undefined,
      }
      this.#tracked.set(name, doc)
    }
    return doc
  }

  async #updatedAt(db: Level, name: string): Promise<number> {
    const [value] = await db.getMany([metaKey(name)])
    return value === undefined ? Date.now() : decodeMeta(value).updatedAt
  }

  async #info(db: Level, name: string): Promise<DocumentInfo | null> {
    const [value] = await db.getMany([metaKey(name)])
    if (value !== undefined) {
      const meta = decodeMeta(value)
      return { name, size: meta.size, updatedAt: new Date(meta.updatedAt) }
    }
    // Written by plain y-leveldb: no metadata, so measure it.
    const entries = await getLevelUpdatesEntries(db, name)
    if (entries.length === 0) return null
    const size = entries.reduce((sum, entry) => sum + entry.value.byteLength, 0)
    return { name, size, updatedAt: new Date(0) }
  }

  #run<T>(operation: string, name: string, body: (db: Level) => Promise<T>): Promise<T> {
    if (this.#closed)
      return Promise.reject(new StoreError(`${operation} ${name}: the store is closed`))
    return new Promise<T>((resolve, reject) => {
      void this.#persistence._transact(async (db: Level) => {
        try {
          resolve(await body(db))
        } catch (cause) {
          reject(new StoreError(`${operation} ${name}: ${(cause as Error).message}`, { cause }))
        }
      })
    })
  }
}

/**
 * The updates merged into one, throwing when they do not decode: a stored update that does
 * not decode would make every later load of its document fail. Merging decodes every
 * update; a lone one is decoded here (about 3 µs for a typed word, 1 ms for a 1 MB paste).
 */
function decodableMerge(updates: readonly Uint8Array[]): Uint8Array {
  const update = mergeAll(updates)
  if (updates.length === 1) Y.decodeUpdate(update)
  return update
}

/** The keys of a document's stored updates, as y-leveldb numbers them. */
function updatesRange(name: string): Range {
  return { gte: updateKey(name, 0), lt: updateKey(name, 0xFFFF_FFFF) }
}

/** Has LevelDB rewrite a document's key range now, dropping what compaction deleted. */
function reclaim(db: Level, name: string): Promise<void> {
  return db.compactRange(firstKey(name), lastKey(name))
}

// A long history (a document nobody compacted, such as one plain y-leveldb wrote) is
// replayed in merges of 100 updates: Y.mergeUpdates is cheap for a few dozen small updates
// and superlinear for many, Y.applyUpdate has a fixed cost per call. Replaying 110,000
// updates: one by one 600-1000 ms, in merges of 100 400-600 ms, of 1,000 1.5-2.2 s. The few
// hundred updates of a routine compaction are applied one by one: merging updates of many
// clients costs more than it saves (a busy document's p99 passed 50 ms one step earlier).
const REPLAY_MERGE = 100
const REPLAY_MERGE_FROM = 1000

/**
 * Stored updates replayed into a document, encoded as one update. Applying them in one
 * transaction is linear in their number (Y.mergeUpdates over all of them is not), and
 * encoding a document drops the content of deleted items, which merging keeps.
 */
function replay(updates: readonly Uint8Array[]): {
  state: Uint8Array
  stateVector: Uint8Array
} {
  const doc = new Y.Doc()
  const step = updates.length >= REPLAY_MERGE_FROM ? REPLAY_MERGE : 1
  doc.transact(() => {
    for (let start = 0; start < updates.length; start += step) {
      Y.applyUpdate(doc, step === 1 ? updates[start]! : Y.mergeUpdates(updates.slice(start, start + step)))
    }
  })
  const result = { state: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) }
  doc.destroy()
  return result
}

function encodeVersion(info: VersionInfo): Uint8Array {
  return buffer.encodeAny({
    id: info.id,
    createdAt: info.createdAt.getTime(),
    label: info.label,
    author: info.author,
    size: info.size,
    kept: info.kept,
  })
}

function decodeVersion(value: Uint8Array): VersionInfo {
  const raw = buffer.decodeAny(value) as {
    id: string
    createdAt: number
    label: string | null
    author: string | null
    size: number
    kept?: boolean
  }
  // Versions saved before `kept` existed: any of them with a label may be a user's, so kept.
  return { ...raw, createdAt: new Date(raw.createdAt), kept: raw.kept ?? raw.label !== null }
}

function encodeMeta(meta: Meta): Uint8Array {
  return buffer.encodeAny({ size: meta.size, updatedAt: meta.updatedAt })
}

function decodeMeta(value: Uint8Array): Meta {
  return buffer.decodeAny(value) as Meta
}

function encodeStateVectorRecord(stateVector: Uint8Array, clock: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, clock)
  encoding.writeVarUint8Array(encoder, stateVector)
  return encoding.toUint8Array(encoder)
}
