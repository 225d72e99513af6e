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
import { mergeAll, replayAll } from './merge.js'
import { MemoryOutbox } from './memory-outbox.js'
import type { OutboxRecord } from './outbox.js'
import { asUpdates, ofVersion } from './outbox.js'
import type { ChangesSince, SharedDocumentStore, StateAtRevision } from './shared-store.js'

interface StoredUpdate {
  readonly update: Uint8Array
  /** The revision of the append that stored it (of the newest append it holds, once compacted). */
  readonly revision: number
}

interface StoredDocument {
  updates: StoredUpdate[]
  /** Appends so far; compaction keeps it. */
  revision: number
  size: number
  updatedAt: Date
}

/**
 * What memory stores keep: documents, versions, tombstones and the outbox. Several `SharedMemoryStore`s
 * can keep theirs in one, as server instances sharing one database do.
 */
export class MemoryStorage {
  readonly documents = new Map<string, StoredDocument>()
  readonly versions = new Map<string, Array<{ info: VersionInfo, state: Uint8Array }>>()
  readonly tombstones = new Set<string>()
  readonly outbox = new MemoryOutbox()
}

/** Keeps documents in process memory. For tests and throwaway servers. */
export class MemoryStore implements DocumentStore {
  readonly #storage: MemoryStorage
  #closed = false

  /** `storage` holds what the store keeps; a new, empty one when absent. */
  constructor(storage: MemoryStorage = new MemoryStorage()) {
    this.#storage = storage
  }

  get outbox(): MemoryOutbox {
    return this.#storage.outbox
  }

  async load(name: string): Promise<Uint8Array | null> {
    this.#assertOpen()
    const document = this.#storage.documents.get(name)
    if (document === undefined) return null
    return replayAll(document.updates.map((stored) => stored.update))
  }

  async append(
    name: string,
    updates: readonly Uint8Array[],
    records: readonly OutboxRecord[] = [],
  ): Promise<void> {
    await this.#appendAt(name, updates, records)
  }

  /** `append`, returning the revision it got (the current one for no updates). */
  protected async appendAt(
    name: string,
    updates: readonly Uint8Array[],
    records: readonly OutboxRecord[] = [],
  ): Promise<number> {
    return this.#appendAt(name, updates, records)
  }

  // Synchronous from the checks on: the document and its records change in one turn.
  async #appendAt(
    name: string,
    updates: readonly Uint8Array[],
    records: readonly OutboxRecord[],
  ): Promise<number> {
    this.#assertOpen()
    const documents = this.#storage.documents
    if (updates.length === 0) {
      this.outbox.recordNow(records)
      return documents.get(name)?.revision ?? 0
    }
    let update: Uint8Array
    try {
      update = mergeAll(updates)
      // Merging decodes every update; a lone one is decoded here, so none that would make
      // every later load fail is stored.
      if (updates.length === 1) Y.decodeUpdate(update)
    } catch (cause) {
      throw new StoreError(`append ${name}: not a Yjs update: ${(cause as Error).message}`, { cause })
    }
    if (this.#storage.tombstones.has(name)) throw new DocumentDeletedError(name)
    const document = documents.get(name)
    this.outbox.recordNow(document === undefined ? records : asUpdates(records))
    if (document === undefined) {
      documents.set(name, {
        updates: [{ update, revision: 1 }],
        revision: 1,
        size: update.byteLength,
        updatedAt: new Date(),
      })
      return 1
    }
    document.revision += 1
    document.updates.push({ update, revision: document.revision })
    document.size += update.byteLength
    document.updatedAt = new Date()
    return document.revision
  }

  async compact(name: string): Promise<void> {
    this.#assertOpen()
    const document = this.#storage.documents.get(name)
    if (document === undefined || document.updates.length < 2) return
    const merged = replayAll(document.updates.map((stored) => stored.update))
    document.updates = [{ update: merged, revision: document.revision }]
    document.size = merged.byteLength
  }

  async info(name: string): Promise<DocumentInfo | null> {
    this.#assertOpen()
    const document = this.#storage.documents.get(name)
    return document === undefined ? null : toInfo(name, document)
  }

  async list(): Promise<DocumentInfo[]> {
    this.#assertOpen()
    const documents = this.#storage.documents
    return [...documents.keys()]
      .sort()
      .map((name) => toInfo(name, documents.get(name)!))
  }

  async delete(name: string, records: readonly OutboxRecord[] = []): Promise<void> {
    this.#assertOpen()
    this.outbox.recordNow(records)
    this.#storage.documents.delete(name)
    this.#storage.versions.delete(name)
    this.#storage.tombstones.add(name)
  }

  async isDeleted(name: string): Promise<boolean> {
    this.#assertOpen()
    return this.#storage.tombstones.has(name)
  }

  async undelete(name: string): Promise<void> {
    this.#assertOpen()
    this.#storage.tombstones.delete(name)
  }

  async saveVersion(
    name: string,
    version: NewVersion,
    options: SaveVersionOptions = {},
  ): Promise<VersionInfo> {
    this.#assertOpen()
    const info = newVersionInfo(version)
    this.outbox.recordNow(ofVersion(options.records ?? [], info.id))
    const versions = this.#storage.versions.get(name) ?? []
    versions.push({ info, state: version.state })
    const past = new Set(versionsPastRetention(versions.map((entry) => entry.info), options.retention))
    this.#storage.versions.set(name, versions.filter((entry) => !past.has(entry.info)))
    return info
  }

  async listVersions(name: string, { limit, before }: ListVersionsOptions = {}): Promise<VersionInfo[]> {
    this.#assertOpen()
    // Ids sort by creation, and versions are pushed in creation order.
    const newestFirst = (this.#storage.versions.get(name) ?? []).map((version) => version.info).reverse()
    const start = before === undefined ? 0 : newestFirst.findIndex((info) => info.id < before)
    if (start === -1) return []
    return newestFirst.slice(start, limit === undefined ? undefined : start + limit)
  }

  async loadVersion(name: string, id: string): Promise<Uint8Array | null> {
    this.#assertOpen()
    return this.#storage.versions.get(name)?.find((version) => version.info.id === id)?.state ?? null
  }

  async checkWritable(): Promise<void> {
    this.#assertOpen()
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  /**
   * The updates of `name` stored after `revision`, and the document's revision; null when
   * the document does not exist.
   */
  protected updatesAfter(name: string, revision: number): { updates: Uint8Array[], revision: number } | null {
    this.#assertOpen()
    const document = this.#storage.documents.get(name)
    if (document === undefined) return null
    return {
      updates: document.updates.filter((stored) => stored.revision > revision).map((stored) => stored.update),
      revision: document.revision,
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('the store is closed')
  }
}

/**
 * A `MemoryStore` that several in-process server instances share, as they would share
 * Postgres: `another()` is a second store on the same storage, closed on its own.
 */
export class SharedMemoryStore extends MemoryStore implements SharedDocumentStore {
  readonly shared = true
  readonly #storage: MemoryStorage

  constructor(storage: MemoryStorage = new MemoryStorage()) {
    super(storage)
    this.#storage = storage
  }

  /** A new store on this one's storage (another server instance's connection to it). */
  another(): SharedMemoryStore {
    return new SharedMemoryStore(this.#storage)
  }

  override appendAt(
    name: string,
    updates: readonly Uint8Array[],
    records?: readonly OutboxRecord[],
  ): Promise<number> {
    return super.appendAt(name, updates, records)
  }

  async loadAtRevision(name: string): Promise<StateAtRevision> {
    const stored = this.updatesAfter(name, 0)
    if (stored === null) return { state: null, revision: 0 }
    return { state: replayAll(stored.updates), revision: stored.revision }
  }

  async revisions(names: readonly string[]): Promise<Map<string, number>> {
    const revisions = new Map<string, number>()
    for (const name of names) {
      const stored = this.updatesAfter(name, Number.MAX_SAFE_INTEGER)
      if (stored !== null) revisions.set(name, stored.revision)
    }
    return revisions
  }

  async changesSince(name: string, revision: number): Promise<ChangesSince> {
    const stored = this.updatesAfter(name, revision)
    if (stored === null || stored.updates.length === 0) return { update: null, revision }
    return { update: mergeAll(stored.updates), revision: stored.revision }
  }
}

function toInfo(name: string, document: StoredDocument): DocumentInfo {
  return { name, size: document.size, updatedAt: document.updatedAt }
}
