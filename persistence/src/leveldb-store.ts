import * as buffer from 'lib0/buffer'
import * as encoding from 'lib0/encoding'
import { ClassicLevel } from 'classic-level'
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
import { LevelDbOutbox } from './leveldb-outbox.js'
import { mergeAll, replaySliced } from './merge.js'
import type { OutboxRecord } from './outbox.js'
import { checkRecords, ofVersion } from './outbox.js'

export interface LevelDbStoreOptions {
  /** Compact a document once this many updates are stored for it. */
  readonly compactAfter?: number
  /** Hears about failures of work nobody awaits (compaction while a document is busy). */
  readonly onBackgroundError?: (error: unknown) => void
  /**
   * fsync every group-committed write (true by default): an acknowledged update survives a
   * power loss. false survives a killed process only.
   */
  readonly syncWrites?: boolean
  /**
   * Called once when writing looks broken for good: this many writes in a row failed
   * (`FATAL_AFTER_FAILED_WRITES`), as after LevelDB hit a full disk in a background flush,
   * which fails every later write until the database is opened again. The server exits so
   * its supervisor restarts it.
   */
  readonly onFatal?: (error: StoreError) => void
  /** Wraps the database (tests: record write options, inject ENOSPC). */
  readonly wrapDatabase?: (db: Level) => Level
}

/** How `open` waits for a LOCK another process holds (a rolling restart). */
export interface OpenOptions {
  /** Keep retrying a locked directory this long; 0 gives up at once. */
  readonly lockWaitMs?: number
  /** Called once, at the first locked attempt, with the cause. */
  readonly onLocked?: (cause: Error) => void
}

/** Failed writes in a row after which the store reports itself broken (`onFatal`). */
export const FATAL_AFTER_FAILED_WRITES = 3
/** Where `checkWritable` writes, outside every document's keys and y-leveldb's prefixes. */
const canaryKey: Key = ['tandem_canary']

// The subset of abstract-level that the store uses; keys are y-leveldb's key arrays.
export type Key = ReadonlyArray<string | number>
export interface Level {
  readonly status: string
  open(): Promise<void>
  getMany(keys: Key[]): Promise<Array<Uint8Array | undefined>>
  batch(
    operations: Array<{ type: 'put', key: Key, value: Uint8Array } | { type: 'del', key: Key }>,
    options?: { sync?: boolean },
  ): Promise<void>
  clear(range: { gte: Key, lt?: Key, lte?: Key }): Promise<void>
  compactRange(start: Key, end: Key): Promise<void>
  keys(range: Range): { all(): Promise<Key[]> }
  values(range: Range): { all(): Promise<Uint8Array[]> }
  close(): Promise<void>
}

export interface Range {
  gte: Key
  lt: Key
  reverse?: boolean
  limit?: number
}

export type Operation = { type: 'put', key: Key, value: Uint8Array } | { type: 'del', key: Key }

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
 * Documents in a LevelDB directory, in y-leveldb's layout.
 *
 * Work runs in three lanes, so no document waits behind another's long work:
 * - writes (group-committed appends, deletes, versions, the canary) run one at a time, each
 *   short; appends of one event-loop turn are one atomic batch, fsynced unless `syncWrites`
 *   is false;
 * - compactions run one at a time beside the writes: reading and replaying a long history
 *   yields to the event loop, and only the final swap (put the merged state, then clear the
 *   updates it holds) goes through the write lane;
 * - reads (loads, info, lists) run at once, on LevelDB's own snapshots.
 * Each operation reports its own failure (y-leveldb's chain swallows them), so a failed
 * write rejects instead of looking stored. y-leveldb compacts only when a document is loaded
 * with over 500 updates; this store compacts when a document's update count passes
 * `compactAfter`, and when asked (`compact`, as a document is unloaded).
 */
export class LevelDbStore implements DocumentStore {
  readonly #directory: string
  readonly #raw: Level
  readonly #db: Level
  readonly #compactAfter: number
  readonly #sync: boolean
  readonly #onBackgroundError: (error: unknown) => void
  readonly #onFatal: (error: StoreError) => void
  // What is on disk for the documents this process has touched, so appends read nothing.
  readonly #tracked = new Map<string, Tracked>()
  #queue: Array<{
    name: string
    update: Uint8Array
    records: readonly OutboxRecord[]
    resolve(): void
    reject(error: unknown): void
  }> = []

  /** The write lane: each write starts when the one before has settled. */
  #writes: Promise<unknown> = Promise.resolve()
  /** The compaction lane. */
  #compactions: Promise<unknown> = Promise.resolve()
  /** Documents with a compaction queued, so a document queues one at a time. */
  readonly #compacting = new Set<string>()
  /** Bumped by every delete, so a compaction that read a deleted document writes nothing. */
  readonly #generation = new Map<string, number>()
  #failedWrites = 0
  #fatal = false
  #closing = false
  #closingDone: Promise<void> | null = null
  #closed = false
  /** Under its own keys; its writes go through the write lane, records in the batches of the writes. */
  readonly outbox: LevelDbOutbox

  constructor(directory: string, options: LevelDbStoreOptions = {}) {
    this.#directory = directory
    let raw: Level | undefined
    // y-leveldb builds the database, so its key and value encodings are the ones used here.
    void new LeveldbPersistence(directory, {
      Level: function (location: string, levelOptions: object) {
        raw = new ClassicLevel(location, levelOptions) as unknown as Level
        return raw
      },
    })
    this.#raw = raw!
    this.#db = options.wrapDatabase?.(raw!) ?? raw!
    this.#compactAfter = options.compactAfter ?? 200
    this.#sync = options.syncWrites ?? true
    this.#onBackgroundError = options.onBackgroundError ?? ((error) => console.warn('LevelDbStore:', error))
    this.#onFatal = options.onFatal ?? (() => {})
    this.outbox = new LevelDbOutbox({
      write: (operation, body) => this.#run(operation, 'the outbox', body),
      read: (operation, body) => this.#read(operation, 'the outbox', body),
      sync: this.#sync,
    })
  }

  /**
   * Opens the directory now, rejecting with its cause (read-only, not a directory, locked)
   * instead of failing every later operation. A LOCK held by another process (the old one
   * of a rolling restart) is retried with backoff for `lockWaitMs`. Without this call the
   * store opens on first use.
   */
  async open({ lockWaitMs = 0, onLocked }: OpenOptions = {}): Promise<void> {
    const deadline = Date.now() + lockWaitMs
    for (let attempt = 0, delay = 50; ; attempt++, delay = Math.min(delay * 2, 1000)) {
      try {
        await this.#raw.open()
        return
      } catch (error) {
        const cause = rootCause(error)
        const locked = (cause as { code?: unknown }).code === 'LEVEL_LOCKED'
        const left = deadline - Date.now()
        if (!locked || left <= 0) {
          throw new StoreError(`open ${this.#directory}: ${cause.message}`, { cause })
        }
        if (attempt === 0) onLocked?.(cause)
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)))
      }
    }
  }

  load(name: string): Promise<Uint8Array | null> {
    return this.#read('load', name, async (db) => {
      // Values alone, without decoding 100,000 keys; the newest key is read after them, so
      // it is at least the newest of the values (a compaction may add one in between).
      const updates = await db.values(updatesRange(name)).all()
      if (updates.length === 0) return null
      const [newest] = await db.keys({ ...updatesRange(name), reverse: true, limit: 1 }).all()
      const [metaValue, tombstone] = await db.getMany([metaKey(name), tombstoneKey(name)])
      // Updates a crash left behind a tombstone (see delete) are not the document's.
      if (tombstone !== undefined || newest === undefined) return null
      const size = metaValue === undefined
        ? updates.reduce((sum, update) => sum + update.byteLength, 0)
        : decodeMeta(metaValue).size
      // Appends since (they track the document first) know better.
      if (!this.#tracked.has(name)) {
        this.#tracked.set(name, { count: updates.length, last: newest[3] as number, size, deleted: false })
      }
      if (updates.length === 1) return updates[0]!
      const { state } = (await replaySliced(updates))!
      if (updates.length > this.#compactAfter) this.#compactInBackground(name)
      return state
    })
  }

  append(name: string, updates: readonly Uint8Array[], records: readonly OutboxRecord[] = []): Promise<void> {
    if (updates.length === 0) return this.outbox.record(records)
    let update: Uint8Array
    try {
      update = decodableMerge(updates)
      checkRecords(records)
    } catch (cause) {
      if (cause instanceof StoreError) return Promise.reject(cause)
      // Rejected here, alone: in the group it would fail every append of the turn.
      return Promise.reject(new StoreError(`append ${name}: not a Yjs update: ${(cause as Error).message}`, { cause }))
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ name, update, records, resolve, reject })
      if (this.#queue.length === 1) setImmediate(() => this.#commit())
    })
  }

  /**
   * Writes every append of this event-loop turn, whatever their documents, as one atomic
   * LevelDB batch (one fsync), in the write lane, with the outbox records of the appends
   * that are not refused.
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
      const records: OutboxRecord[] = []
      const now = Date.now()
      for (const { name, update, records: appendRecords } of group) {
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
        records.push(...appendRecords)
      }
      try {
        if (records.length > 0) operations.push(...await this.outbox.operationsFor(db, records))
        await db.batch(operations, { sync: this.#sync })
      } catch (error) {
        // What is tracked in memory ran ahead of the disk: read it again next time.
        for (const name of names) this.#tracked.delete(name)
        this.#writeFailed(error)
        throw error
      }
      this.#failedWrites = 0
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

  /** Queues a compaction nobody awaits; a document has at most one queued. */
  #compactInBackground(name: string): void {
    if (this.#compacting.has(name)) return
    this.#compacting.add(name)
    this.compact(name)
      .catch(this.#onBackgroundError)
      .finally(() => this.#compacting.delete(name))
  }

  /**
   * Compacts in the compaction lane: appends, loads and other writes go on meanwhile, and
   * wait at most for the final swap. LevelDB reclaims the space in its own background
   * compactions (no compactRange, which would hold a thread per document unloaded).
   */
  compact(name: string): Promise<void> {
    if (this.#closed || this.#closing)
      return Promise.reject(new StoreError(`compact ${name}: the store is closed`))
    const run = this.#compactions.then(async () => {
      // Skipped once the store closes: shutdown flushes, it does not compact.
      if (this.#closing) return
      const tracked = this.#tracked.get(name)
      if (tracked !== undefined && (tracked.count < 2 || tracked.deleted)) return
      try {
        await this.#compact(name)
      } catch (cause) {
        throw new StoreError(`compact ${name}: ${(cause as Error).message}`, { cause })
      }
    })
    this.#compactions = run.catch(() => undefined)
    return run
  }

  info(name: string): Promise<DocumentInfo | null> {
    return this.#read('info', name, (db) => this.#info(db, name))
  }

  list(): Promise<DocumentInfo[]> {
    return this.#read('list', '*', async (db) => {
      const names = (await getAllDocsKeys(db)).map((key) => key[1] as unknown as string)
      const infos: DocumentInfo[] = []
      for (const name of names.sort()) {
        const info = await this.#info(db, name)
        if (info !== null) infos.push(info)
      }
      return infos
    })
  }

  delete(name: string, records: readonly OutboxRecord[] = []): Promise<void> {
    try {
      checkRecords(records)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#run('delete', name, async (db) => {
      this.#generation.set(name, (this.#generation.get(name) ?? 0) + 1)
      // The tombstone first: a crash before the clear leaves updates that load ignores.
      await db.batch([
        { type: 'put', key: tombstoneKey(name), value: TOMBSTONE },
        { type: 'del', key: stateVectorKey(name) },
        ...await this.outbox.operationsFor(db, records),
      ], records.length > 0 ? { sync: this.#sync } : undefined)
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
    const records = options.records ?? []
    try {
      checkRecords(records)
    } catch (error) {
      return Promise.reject(error)
    }
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
      operations.push(...await this.outbox.operationsFor(db, ofVersion(records, info.id)))
      // One batch: the new version, the deletions it causes and its records are stored
      // together or not at all.
      await db.batch(operations, records.length > 0 ? { sync: this.#sync } : undefined)
      return info
    })
  }

  listVersions(name: string, { limit, before }: ListVersionsOptions = {}): Promise<VersionInfo[]> {
    return this.#read('list versions of', name, async (db) => {
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
    return this.#read('load version of', name, async (db) => {
      const [state] = await db.getMany([versionStateKey(name, id)])
      return state ?? null
    })
  }

  /**
   * Writes and deletes a canary key through the write lane, as an append would: rejects
   * when the store cannot write (a full disk, a broken database), which `/readyz` reports.
   */
  checkWritable(): Promise<void> {
    return this.#run('write the canary in', this.#directory, async (db) => {
      try {
        await db.batch([{ type: 'put', key: canaryKey, value: new Uint8Array([1]) }, { type: 'del', key: canaryKey }], {
          sync: this.#sync,
        })
      } catch (error) {
        this.#writeFailed(error)
        throw error
      }
      this.#failedWrites = 0
    })
  }

  /** Resolves once every compaction and write queued so far (and those they queue) is done. */
  async idle(): Promise<void> {
    for (;;) {
      const [compactions, writes] = [this.#compactions, this.#writes]
      await compactions
      await writes
      if (compactions === this.#compactions && writes === this.#writes && this.#queue.length === 0) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  /** Writes what is pending, drops the compactions not started (and stops the running one). */
  close(): Promise<void> {
    this.#closingDone ??= (async () => {
      this.#closing = true
      // Appends of this turn go into the write lane before the close does.
      this.#commit()
      await this.#compactions
      await this.#writes
      try {
        await this.#db.close()
      } finally {
        this.#closed = true
      }
    })()
    return this.#closingDone
  }

  /**
   * Replaces the document's updates with one holding all of them. Only compactions delete
   * updates, one at a time, so the updates up to the newest key read first stay put while
   * they are read and replayed. The merged state goes in under a new key, through the write
   * lane (so it cannot race an append for a key, or a delete); the updates it holds are then
   * cleared. A crash in between leaves both, which load merges to the same document.
   */
  async #compact(name: string): Promise<void> {
    const db = this.#db
    const generation = this.#generation.get(name) ?? 0
    const [newest] = await db.keys({ ...updatesRange(name), reverse: true, limit: 1 }).all()
    if (newest === undefined) return
    const through = newest[3] as number
    const updates = await db.values({ gte: updateKey(name, 0), lt: updateKey(name, through + 1) }).all()
    if (updates.length < 2) return
    const replayed = await replaySliced(updates, () => this.#closing)
    if (replayed === null) return
    const { state, stateVector } = replayed
    const dropped = updates.reduce((sum, update) => sum + update.byteLength, 0)
    const swapped = await this.#run('compact', name, async (db) => {
      if ((this.#generation.get(name) ?? 0) !== generation) return false
      const doc = await this.#track(db, name)
      if (doc.deleted) return false
      const next = doc.last + 1
      const [metaValue] = await db.getMany([metaKey(name)])
      const updatedAt = metaValue === undefined ? Date.now() : decodeMeta(metaValue).updatedAt
      const size = Math.max(state.byteLength, doc.size - dropped + state.byteLength)
      try {
        // Not synced on its own: the next synced write (or the clear) carries it to disk first.
        await db.batch([
          { type: 'put', key: updateKey(name, next), value: state },
          { type: 'put', key: stateVectorKey(name), value: encodeStateVectorRecord(stateVector, next) },
          { type: 'put', key: metaKey(name), value: encodeMeta({ size, updatedAt }) },
        ])
      } catch (error) {
        this.#tracked.delete(name)
        throw error
      }
      doc.last = next
      doc.count = Math.max(1, doc.count - updates.length + 1)
      doc.size = size
      return true
    })
    // Outside the write lane: appends since have keys past `through`, and a delete since
    // cleared these already.
    if (swapped) await db.clear({ gte: updateKey(name, 0), lte: updateKey(name, through) })
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

  /** Runs `body` in the write lane, after every write queued before it. */
  #run<T>(operation: string, name: string, body: (db: Level) => Promise<T>): Promise<T> {
    if (this.#closed)
      return Promise.reject(new StoreError(`${operation} ${name}: the store is closed`))
    const run = this.#writes.then(async () => {
      try {
        return await body(this.#db)
      } catch (cause) {
        throw new StoreError(`${operation} ${name}: ${(cause as Error).message}`, { cause })
      }
    })
    this.#writes = run.catch(() => undefined)
    return run
  }

  /** Runs a read now, beside whatever else runs: LevelDB reads from a snapshot. */
  async #read<T>(operation: string, name: string, body: (db: Level) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError(`${operation} ${name}: the store is closed`)
    try {
      return await body(this.#db)
    } catch (cause) {
      throw new StoreError(`${operation} ${name}: ${(cause as Error).message}`, { cause })
    }
  }

  /** Counts a failed write; past FATAL_AFTER_FAILED_WRITES in a row, reports the store broken. */
  #writeFailed(error: unknown): void {
    this.#failedWrites += 1
    if (this.#failedWrites < FATAL_AFTER_FAILED_WRITES || this.#fatal) return
    this.#fatal = true
    const cause = rootCause(error)
    this.#onFatal(new StoreError(
      `${this.#failedWrites} writes in a row failed in ${this.#directory}: ${cause.message}`,
      { cause },
    ))
  }
}

/** The innermost cause of an error (abstract-level wraps LevelDB's in LEVEL_DATABASE_NOT_OPEN). */
function rootCause(error: unknown): Error {
  let current = error instanceof Error ? error : new Error(String(error))
  while (current.cause instanceof Error) current = current.cause
  return current
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
