import type { Outbox, OutboxRecord } from './outbox.js'

/** What a store knows about one document without loading it. */
export interface DocumentInfo {
  readonly name: string
  /** Bytes the document occupies in the store (all stored updates). */
  readonly size: number
  readonly updatedAt: Date
}

/** A saved copy of a document's whole state. */
export interface VersionInfo {
  /** Sorts by creation time. */
  readonly id: string
  readonly createdAt: Date
  readonly label: string | null
  /** The `sub` of whoever took it; null for automatic versions. */
  readonly author: string | null
  /** Bytes of the saved state. */
  readonly size: number
  /**
   * A user labelled it: retention never deletes it. Automatic versions and the ones the
   * server takes before a replace or a restore are not kept.
   */
  readonly kept: boolean
}

/** What a caller gives to save a version. */
export interface NewVersion {
  readonly label: string | null
  readonly author: string | null
  /** The whole state as one update. */
  readonly state: Uint8Array
  /** Exempt from retention (a version a user labelled); false when absent. */
  readonly kept?: boolean
}

/** How `saveVersion` treats the versions already there. */
export interface SaveVersionOptions {
  /**
   * Keep at most this many versions that are not `kept` (the new one included): the oldest
   * beyond it are deleted in the same write. Unset keeps every version.
   */
  readonly retention?: number
  /**
   * Outbox records (`version.created`) stored in the same write; each gets the new
   * version's id as `data.version`.
   */
  readonly records?: readonly OutboxRecord[]
}

/** Which page of `listVersions` to read. */
export interface ListVersionsOptions {
  /** At most this many versions. */
  readonly limit?: number
  /** Only versions older than the version with this id (the last id of the page before). */
  readonly before?: string
}

/**
 * Where documents live between server restarts. Every document is a sequence of
 * Yjs updates; a store only has to keep them and hand them back merged.
 *
 * Implementations run the shared contract suite in `store-contract.ts`.
 */
export interface DocumentStore {
  /** The whole stored state as one merged update, or null when the document does not exist. */
  load(name: string): Promise<Uint8Array | null>
  /**
   * Appends updates in one write (a group commit). When the promise resolves the updates
   * survive a crash; when it rejects, none of them is stored. Bytes that are not a Yjs
   * update reject with a StoreError without touching the document or other appends.
   * `records` are stored in the same write, and only when the updates are; with no
   * updates they are recorded on their own.
   */
  append(name: string, updates: readonly Uint8Array[], records?: readonly OutboxRecord[]): Promise<void>
  /** Replaces the stored updates of a document with one merged update. */
  compact(name: string): Promise<void>
  info(name: string): Promise<DocumentInfo | null>
  /** Every stored document, ordered by name. */
  list(): Promise<DocumentInfo[]>
  /**
   * Deletes the document and all its versions, and leaves a tombstone: the name stays
   * deleted (`isDeleted`, appends rejected with DocumentDeletedError) until `undelete`.
   * Tombstones are kept for good, one small key per deleted name. `records` are stored in
   * the same write.
   */
  delete(name: string, records?: readonly OutboxRecord[]): Promise<void>
  /** Whether `name` was deleted and not created again since (it has a tombstone). */
  isDeleted(name: string): Promise<boolean>
  /**
   * Clears the tombstone `delete` left, for a document created again on purpose, so the
   * name can be written again from nothing; a name not deleted is left as it is.
   */
  undelete(name: string): Promise<void>
  /** Saves a version of a document, then applies `retention` to the document's versions. */
  saveVersion(name: string, version: NewVersion, options?: SaveVersionOptions): Promise<VersionInfo>
  /**
   * The versions of a document, newest first; a page of them with `limit` and `before`,
   * read without reading the versions outside it.
   */
  listVersions(name: string, options?: ListVersionsOptions): Promise<VersionInfo[]>
  /** A version's state, or null when there is no such version. */
  loadVersion(name: string, id: string): Promise<Uint8Array | null>
  /**
   * Writes something and takes it back (a canary), through the same path as appends:
   * rejects with a StoreError when the store cannot write now. `/readyz` calls it.
   */
  checkWritable(): Promise<void>
  /** The webhook outbox that the writes above record events in. */
  readonly outbox: Outbox
  /**
   * Waits for pending writes, then releases the store. Compactions not yet done are
   * dropped, never waited for: closing is quick whatever is loaded.
   */
  close(): Promise<void>
}

/** A store operation failed; the message names the document and the operation. */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreError'
  }
}

/**
 * An append to a deleted document (one with a tombstone): refused, so a client that had it
 * open cannot bring it back by sending what it holds.
 */
export class DocumentDeletedError extends StoreError {
  constructor(name: string, operation = 'append') {
    super(`${operation} ${name}: the document was deleted`)
    this.name = 'DocumentDeletedError'
  }
}

/** The metadata of a version about to be saved: a new id, now, and the caller's details. */
export function newVersionInfo(version: NewVersion): VersionInfo {
  return {
    id: newVersionId(),
    createdAt: new Date(),
    label: version.label,
    author: version.author,
    size: version.state.byteLength,
    kept: version.kept ?? false,
  }
}

/**
 * The versions `retention` deletes from `versions` (oldest first, as stored): the oldest
 * ones not kept beyond the newest `retention` of them.
 */
export function versionsPastRetention<T extends { readonly kept: boolean }>(
  versions: readonly T[],
  retention: number | undefined,
): T[] {
  if (retention === undefined) return []
  const unkept = versions.filter((version) => !version.kept)
  return unkept.slice(0, Math.max(0, unkept.length - retention))
}

/** Whether `id` has the form of a version id (so it sorts among them; see below). */
export function isVersionId(id: string): boolean {
  return VERSION_ID.test(id)
}

const VERSION_ID = /^[0-9a-z]{9}-[0-9a-z]{6}$/

let lastIdTime = 0

/**
 * A new version id: creation time in base 36, then randomness. Ids sort by creation, even
 * for versions taken in the same millisecond (the time is bumped past the last one).
 */
function newVersionId(): string {
  const now = Math.max(Date.now(), lastIdTime + 1)
  lastIdTime = now
  return `${now.toString(36).padStart(9, '0')}-${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`
}

/**
 * The store cannot be reached now (a database restarting, a network cut): nothing of the
 * operation was stored for sure, and the same operation may succeed later. A room retries
 * its writes on this error, holding back acknowledgements and relays, instead of closing.
 */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailableError'
  }
}
