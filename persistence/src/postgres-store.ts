import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { runner } from 'node-pg-migrate'
import pg from 'pg'
import type { PoolClient } from 'pg'
import * as Y from 'yjs'
import type {
  DocumentInfo,
  ListVersionsOptions,
  NewVersion,
  SaveVersionOptions,
  VersionInfo,
} from './document-store.js'
import {
  DocumentDeletedError,
  newVersionInfo,
  StoreError,
  StoreUnavailableError,
  versionsPastRetention,
} from './document-store.js'
import { mergeAll, replaySliced } from './merge.js'
import type { OutboxRecord } from './outbox.js'
import { asUpdates, checkRecords, ofVersion } from './outbox.js'
import { PostgresOutbox, writeRecords } from './postgres-outbox.js'
import type { ChangesSince, SharedDocumentStore, StateAtRevision } from './shared-store.js'

/** Where the store reports what nobody awaits (a pool connection lost while idle). */
export interface PostgresStoreLogger {
  warn(details: object, message: string): void
}

/** How to reach the database. */
export interface PostgresStoreOptions {
  /** A `postgres://` URL. */
  readonly connectionString: string
  readonly logger?: PostgresStoreLogger
  /** Connections in the pool (10 when absent). */
  readonly poolSize?: number
  /** Give up connecting after this long (10 s when absent), as an unavailable store. */
  readonly connectTimeoutMs?: number
}

// Resolved from the module, so the same path works from src/ (tests) and dist/ (the server).
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url))
const MIGRATIONS_TABLE = 'tandem_migrations'

// First keys of the two-key advisory locks, so they do not meet other applications' locks.
const COMPACTION_LOCK = 0x54_43_4d_50
const VERSIONS_LOCK = 0x54_56_45_52

/** A transaction's work returns this to roll back instead of committing. */
const ROLLBACK = Symbol('rollback')

/**
 * One append's rows and the revision each gets. The documents row is bumped first: its row
 * lock serializes appends to one document, so revision order is commit order; a tombstone
 * matches no row and inserts nothing.
 */
const APPEND = `
WITH document AS (
  INSERT INTO documents AS d (name, revision) VALUES ($1, $3)
  ON CONFLICT (name) DO UPDATE SET revision = d.revision + $3, updated_at = now()
  WHERE NOT d.deleted
  RETURNING d.revision
), appended AS (
  INSERT INTO updates (name, revision, data)
  SELECT $1, document.revision - $3 + u.ordinality, u.data
  FROM document, unnest($2::bytea[]) WITH ORDINALITY AS u(data, ordinality)
)
SELECT revision FROM document`

const INFO = `
SELECT d.name, d.updated_at, sum(octet_length(u.data))::bigint AS size
FROM documents d JOIN updates u ON u.name = d.name
WHERE NOT d.deleted`

interface QueuedAppend {
  readonly update: Uint8Array
  readonly records: readonly OutboxRecord[]
  resolve(revision: number): void
  reject(error: unknown): void
}

interface VersionRow {
  id: string
  created_at: Date
  label: string | null
  author: string | null
  size: number
  kept: boolean
}

/**
 * Keeps documents in PostgreSQL, for several server instances at once: every append is one
 * row with the document's next revision, so an instance reads what others appended after
 * the revision it has. Appends of one event-loop turn to one document are one statement.
 * Compaction replaces exactly the rows it read by one merged row, so an append made
 * meanwhile, by any instance, stays. `open` runs the migrations in `persistence/migrations`.
 */
export class PostgresStore implements SharedDocumentStore {
  readonly shared = true
  readonly #pool: pg.Pool
  #opened = false
  #closing = false
  #closed: Promise<void> | undefined
  #queue = new Map<string, QueuedAppend[]>()
  #flushScheduled = false
  /** Writes under way, which close waits for. */
  readonly #pending = new Set<Promise<unknown>>()
  /** In the same database; records go in the transactions of the writes they tell of. */
  readonly outbox: PostgresOutbox

  constructor(options: PostgresStoreOptions) {
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    })
    // An idle connection that breaks (a database restart) emits this; the next query that
    // needs a connection fails on its own, so here it is only reported.
    this.#pool.on('error', (error) => {
      options.logger?.warn({ err: error }, 'postgres: an idle connection failed')
    })
    this.outbox = new PostgresOutbox({
      query: (operation, work, write) => {
        const run = () => work(this.#pool)
        return write ? this.#write(operation, 'the outbox', run) : this.#use(operation, 'the outbox', run)
      },
      transaction: (operation, work) => this.#write(operation, 'the outbox', async () => (
        (await this.#transaction(work)) as Awaited<ReturnType<typeof work>>
      )),
    })
  }

  /** Connects, and brings the schema up to date (one instance at a time, under a lock). */
  async open(): Promise<void> {
    if (this.#closing) throw new StoreError('open: the store is closed')
    try {
      const client = await this.#pool.connect()
      let broken: Error | undefined
      try {
        await runner({
          dbClient: client,
          dir: MIGRATIONS_DIR,
          migrationsTable: MIGRATIONS_TABLE,
          direction: 'up',
          // Instances starting together wait for the first one's migrations, then find none to run.
          advisoryLockMode: 'wait',
          singleTransaction: true,
          logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
        })
      } catch (error) {
        broken = error as Error
        throw error
      } finally {
        client.release(broken)
      }
    } catch (cause) {
      throw storeError('open', 'the database', cause)
    }
    this.#opened = true
  }

  async load(name: string): Promise<Uint8Array | null> {
    return (await this.#loadAtRevision('load', name)).state
  }

  loadAtRevision(name: string): Promise<StateAtRevision> {
    return this.#loadAtRevision('loadAtRevision', name)
  }

  async append(
    name: string,
    updates: readonly Uint8Array[],
    records?: readonly OutboxRecord[],
  ): Promise<void> {
    await this.appendAt(name, updates, records)
  }

  async appendAt(
    name: string,
    updates: readonly Uint8Array[],
    records: readonly OutboxRecord[] = [],
  ): Promise<number> {
    if (updates.length === 0) {
      await this.outbox.record(records)
      return this.#use('append', name, async () => {
        const { rows } = await this.#pool.query<{ revision: string }>(
          'SELECT revision FROM documents WHERE name = $1 AND NOT deleted',
          [name],
        )
        return rows[0] === undefined ? 0 : Number(rows[0].revision)
      })
    }
    const unusable = this.#unusable('append', name)
    if (unusable !== null) return Promise.reject(unusable)
    let update: Uint8Array
    try {
      update = mergeAll(updates)
      // Merging decodes every update; a lone one is decoded here, so none that would make
      // every later load fail is stored.
      if (updates.length === 1) Y.decodeUpdate(update)
    } catch (cause) {
      return Promise.reject(new StoreError(`append ${name}: not a Yjs update: ${(cause as Error).message}`, { cause }))
    }
    checkRecords(records)
    return new Promise((resolve, reject) => {
      const queued = this.#queue.get(name)
      if (queued === undefined) this.#queue.set(name, [{ update, records, resolve, reject }])
      else queued.push({ update, records, resolve, reject })
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        setImmediate(() => this.#flush())
      }
    })
  }

  async changesSince(name: string, revision: number): Promise<ChangesSince> {
    return this.#use('changesSince', name, async () => {
      const { rows } = await this.#pool.query<{ revision: string, data: Buffer }>(
        'SELECT revision, data FROM updates WHERE name = $1 AND revision > $2 ORDER BY revision, id',
        [name, revision],
      )
      if (rows.length === 0) return { update: null, revision }
      // Merged, not replayed: these updates need the ones before them, which a Y.Doc would hold back.
      const update = mergeAll(rows.map((row) => bytes(row.data)))
      return { update, revision: Math.max(...rows.map((row) => Number(row.revision))) }
    })
  }

  revisions(names: readonly string[]): Promise<Map<string, number>> {
    return this.#use('revisions', names.join(', '), async () => {
      const { rows } = await this.#pool.query<{ name: string, revision: string }>(
        'SELECT name, revision FROM documents WHERE name = ANY($1::text[]) AND NOT deleted',
        [names],
      )
      return new Map(rows.map((row) => [row.name, Number(row.revision)]))
    })
  }

  compact(name: string): Promise<void> {
    return this.#use('compact', name, () => this.#compact(name))
  }

  info(name: string): Promise<DocumentInfo | null> {
    return this.#use('info', name, async () => {
      const { rows } = await this.#pool.query<InfoRow>(`${INFO} AND d.name = $1 GROUP BY d.name`, [name])
      return rows[0] === undefined ? null : toInfo(rows[0])
    })
  }

  list(): Promise<DocumentInfo[]> {
    return this.#use('list', '*', async () => {
      const { rows } = await this.#pool.query<InfoRow>(`${INFO} GROUP BY d.name ORDER BY d.name`)
      return rows.map(toInfo)
    })
  }

  delete(name: string, records: readonly OutboxRecord[] = []): Promise<void> {
    try {
      checkRecords(records)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#write('delete', name, () => this.#transaction(async (client) => {
      // The documents row first: it waits for a compaction swapping rows of this document,
      // so the rows that swap inserts are there to delete.
      await client.query(
        `INSERT INTO documents (name, revision, deleted) VALUES ($1, 0, true)
         ON CONFLICT (name) DO UPDATE SET deleted = true, updated_at = now()`,
        [name],
      )
      await client.query('DELETE FROM updates WHERE name = $1', [name])
      await client.query('DELETE FROM versions WHERE name = $1', [name])
      await writeRecords(client, records)
    }))
  }

  isDeleted(name: string): Promise<boolean> {
    return this.#use('isDeleted', name, async () => {
      const { rows } = await this.#pool.query('SELECT 1 FROM documents WHERE name = $1 AND deleted', [name])
      return rows.length > 0
    })
  }

  undelete(name: string): Promise<void> {
    // Without its row the name is new: the next append creates it at revision 1.
    return this.#write('undelete', name, async () => {
      await this.#pool.query('DELETE FROM documents WHERE name = $1 AND deleted', [name])
    })
  }

  saveVersion(name: string, version: NewVersion, options: SaveVersionOptions = {}): Promise<VersionInfo> {
    const records = options.records ?? []
    try {
      checkRecords(records)
    } catch (error) {
      return Promise.reject(error)
    }
    const info = newVersionInfo(version)
    return this.#write('saveVersion', name, async () => {
      await this.#transaction(async (client) => {
        await this.#saveVersion(client, name, info, version.state, options.retention)
        await writeRecords(client, ofVersion(records, info.id))
      })
      return info
    })
  }

  async #saveVersion(
    client: PoolClient,
    name: string,
    info: VersionInfo,
    state: Uint8Array,
    retention: number | undefined,
  ): Promise<void> {
    // Saves of one document, from any instance, apply retention one after the other.
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [VERSIONS_LOCK, name])
    await client.query(
      `INSERT INTO versions (name, id, created_at, label, author, kept, size, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [name, info.id, info.createdAt, info.label, info.author, info.kept, info.size, state],
    )
    if (retention !== undefined) {
      const { rows } = await client.query<{ id: string, kept: boolean }>(
        'SELECT id, kept FROM versions WHERE name = $1 ORDER BY id',
        [name],
      )
      const past = versionsPastRetention(rows, retention).map((row) => row.id)
      if (past.length > 0) await client.query('DELETE FROM versions WHERE name = $1 AND id = ANY($2::text[])', [name, past])
    }
  }

  listVersions(name: string, { limit, before }: ListVersionsOptions = {}): Promise<VersionInfo[]> {
    return this.#use('listVersions', name, async () => {
      const { rows } = await this.#pool.query<VersionRow>(
        `SELECT id, created_at, label, author, size, kept FROM versions
         WHERE name = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
        [name, before ?? null, limit ?? null],
      )
      return rows.map((row) => ({
        id: row.id,
        createdAt: row.created_at,
        label: row.label,
        author: row.author,
        size: row.size,
        kept: row.kept,
      }))
    })
  }

  loadVersion(name: string, id: string): Promise<Uint8Array | null> {
    return this.#use('loadVersion', name, async () => {
      const { rows } = await this.#pool.query<{ state: Buffer }>(
        'SELECT state FROM versions WHERE name = $1 AND id = $2',
        [name, id],
      )
      return rows[0] === undefined ? null : bytes(rows[0].state)
    })
  }

  checkWritable(): Promise<void> {
    return this.#write('checkWritable', 'canary', async () => {
      const id = randomUUID()
      await this.#pool.query('INSERT INTO canary (id) VALUES ($1)', [id])
      await this.#pool.query('DELETE FROM canary WHERE id = $1', [id])
    })
  }

  /** Writes the appends of this turn, waits for every write, then ends the pool. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true
      this.#flush()
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
      // A compaction under way sees the store closing and gives its connection back.
      await this.#pool.end()
    })()
    return this.#closed
  }

  /** Writes the queued appends, one statement per document. */
  #flush(): void {
    this.#flushScheduled = false
    const queue = this.#queue
    this.#queue = new Map()
    for (const [name, appends] of queue) this.#track(this.#writeAppends(name, appends))
  }

  /**
   * Writes one document's queued appends in one statement; with their outbox records, in one
   * transaction that stores the records only when the appends are stored.
   */
  async #writeAppends(name: string, appends: readonly QueuedAppend[]): Promise<void> {
    const parameters = [name, appends.map((append) => append.update), appends.length]
    const records = appends.flatMap((append) => append.records)
    try {
      const rows = records.length === 0
        ? (await this.#pool.query<{ revision: string }>(APPEND, parameters)).rows
        : (await this.#transaction(async (client) => {
            const { rows } = await client.query<{ revision: string }>(APPEND, parameters)
            if (rows[0] === undefined) return rows
            // Revision 1 is the document's first append; past it, another instance wrote first.
            const created = Number(rows[0].revision) === appends.length
            await writeRecords(client, created ? records : asUpdates(records))
            return rows
          }))!
      if (rows[0] === undefined) {
        const error = new DocumentDeletedError(name)
        for (const append of appends) append.reject(error)
        return
      }
      const first = Number(rows[0].revision) - appends.length + 1
      appends.forEach((append, index) => append.resolve(first + index))
    } catch (cause) {
      const error = storeError('append', name, cause)
      for (const append of appends) append.reject(error)
    }
  }

  async #loadAtRevision(operation: string, name: string): Promise<StateAtRevision> {
    return this.#use(operation, name, async () => {
      // One snapshot for the revision and the rows.
      const read = await this.#transaction(async (client) => {
        const { rows } = await client.query<{ revision: string }>(
          'SELECT revision FROM documents WHERE name = $1 AND NOT deleted',
          [name],
        )
        if (rows[0] === undefined) return null
        return { revision: Number(rows[0].revision), rows: (await readUpdates(client, name))! }
      }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      if (read === undefined || read === null || read.rows.length === 0) return { state: null, revision: 0 }
      const { state } = (await replaySliced(read.rows.map((row) => row.data)))!
      return { state, revision: read.revision }
    })
  }

  /**
   * Replaces the rows read by one merged row carrying their newest revision. Appends made
   * meanwhile have other rows, which are not touched: exactly the ids read are deleted, never
   * a range of them, as identity values are handed out before commit and need not follow
   * commit order. When a delete or another compaction took some of those rows first, this
   * one rolls back and theirs stands. The FOR SHARE lock on the documents row makes a delete
   * wait for the swap (and then delete the merged row too), or the swap see the tombstone.
   */
  #compact(name: string): Promise<void> {
    return this.#transaction(async (client) => {
      // Two instances compacting one document would do the same work twice; one skips it.
      const { rows: [lock] } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked',
        [COMPACTION_LOCK, name],
      )
      if (lock?.locked !== true) return ROLLBACK
      // Skipped once the store closes: closing waits for writes, not for compactions.
      const rows = await readUpdates(client, name, () => this.#closing)
      if (rows === null || rows.length < 2) return ROLLBACK
      const replayed = await replaySliced(rows.map((row) => row.data), () => this.#closing)
      if (replayed === null) return ROLLBACK
      const { state } = replayed
      const { rows: live } = await client.query(
        'SELECT 1 FROM documents WHERE name = $1 AND NOT deleted FOR SHARE',
        [name],
      )
      if (live.length === 0) return ROLLBACK
      const ids = rows.map((row) => row.id)
      const { rowCount } = await client.query('DELETE FROM updates WHERE id = ANY($1::bigint[])', [ids])
      if (rowCount !== ids.length) return ROLLBACK
      const revision = rows.reduce((newest, row) => Math.max(newest, row.revision), 0)
      await client.query('INSERT INTO updates (name, revision, data) VALUES ($1, $2, $3)', [name, revision, state])
      return undefined
    })
  }

  async #transaction<T>(
    work: (client: PoolClient) => Promise<T | typeof ROLLBACK>,
    begin = 'BEGIN',
  ): Promise<T | undefined> {
    const client = await this.#pool.connect()
    let broken: Error | undefined
    try {
      await client.query(begin)
      const result = await work(client)
      if (result === ROLLBACK) {
        await client.query('ROLLBACK')
        return undefined
      }
      await client.query('COMMIT')
      return result
    } catch (error) {
      // A rollback that fails means the connection is gone: the caller needs the first
      // error, and the connection is thrown away on release.
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError
      })
      throw error
    } finally {
      client.release(broken)
    }
  }

  /** Runs an operation, its failures as StoreErrors naming it and the document. */
  async #use<T>(operation: string, name: string, work: () => Promise<T>): Promise<T> {
    const unusable = this.#unusable(operation, name)
    if (unusable !== null) throw unusable
    try {
      return await work()
    } catch (cause) {
      throw storeError(operation, name, cause)
    }
  }

  /** `#use` for a write, which close waits for. */
  #write<T>(operation: string, name: string, work: () => Promise<T>): Promise<T> {
    return this.#track(this.#use(operation, name, work))
  }

  #track<T>(write: Promise<T>): Promise<T> {
    this.#pending.add(write)
    const done = () => this.#pending.delete(write)
    write.then(done, done)
    return write
  }

  #unusable(operation: string, name: string): StoreError | null {
    if (this.#closing) return new StoreError(`${operation} ${name}: the store is closed`)
    if (!this.#opened) return new StoreError(`${operation} ${name}: the store is not open`)
    return null
  }
}

/** Rows of a long history are fetched this many at a time. */
const READ_BATCH = 2000

interface UpdateRow {
  readonly id: string
  readonly revision: number
  readonly data: Uint8Array
}

/**
 * A document's stored updates in revision order, read through a cursor in `client`'s
 * transaction (one snapshot); null when `stop` said so between batches. Fetched in batches:
 * a single result of 100,000 rows is parsed in long runs that hold up every other query's
 * callbacks.
 */
async function readUpdates(
  client: PoolClient,
  name: string,
  stop: () => boolean = () => false,
): Promise<UpdateRow[] | null> {
  await client.query(
    `DECLARE stored_updates NO SCROLL CURSOR FOR
     SELECT id, revision, data FROM updates WHERE name = $1 ORDER BY revision, id`,
    [name],
  )
  const updates: UpdateRow[] = []
  for (;;) {
    const { rows } = await client.query<{ id: string, revision: string, data: Buffer }>(
      `FETCH FORWARD ${READ_BATCH} FROM stored_updates`,
    )
    for (const row of rows) {
      updates.push({ id: row.id, revision: Number(row.revision), data: bytes(row.data) })
    }
    if (rows.length < READ_BATCH) break
    if (stop()) return null
  }
  await client.query('CLOSE stored_updates')
  return updates
}

interface InfoRow {
  name: string
  updated_at: Date
  size: string
}

function toInfo(row: InfoRow): DocumentInfo {
  return { name: row.name, size: Number(row.size), updatedAt: row.updated_at }
}

/** A Buffer pg returned, as the plain Uint8Array the other stores return. */
function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

// Node's codes for a connection that could not be made or was cut.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
])
// Postgres shutting down or restarting: admin_shutdown, crash_shutdown, cannot_connect_now.
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03'])
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
]

/** Whether `error` says the database could not be reached, so the same call may succeed later. */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error instanceof AggregateError && error.errors.some(isConnectionFailure)) return true
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (CONNECTION_CODES.has(code) || SHUTDOWN_STATES.has(code)) return true
    // SQLSTATE class 08: connection exception.
    if (/^08[0-9A-Z]{3}$/.test(code)) return true
  }
  return CONNECTION_MESSAGES.some((message) => error.message.includes(message))
}

function storeError(operation: string, name: string, cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause
  const message = `${operation} ${name}: ${cause instanceof Error ? cause.message : String(cause)}`
  return isConnectionFailure(cause)
    ? new StoreUnavailableError(message, { cause })
    : new StoreError(message, { cause })
}
