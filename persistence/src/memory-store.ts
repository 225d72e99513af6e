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

interface StoredDocument {
  updates: Uint8Array[]
  size: number
  updatedAt: Date
}

/** Keeps documents in process memory. For tests and throwaway servers. */
export class MemoryStore implements DocumentStore {
  readonly #documents = new Map<string, StoredDocument>()
  readonly #versions = new Map<string, Array<{ info: VersionInfo, state: Uint8Array }>>()
  readonly #tombstones = new Set<string>()
  #closed = false

  async load(name: string): Promise<Uint8Array | null> {
    this.#assertOpen()
    const document = this.#documents.get(name)
    if (document === undefined) return null
    return replayAll(document.updates)
  }

  async append(name: string, updates: readonly Uint8Array[]): Promise<void> {
    this.#assertOpen()
    if (updates.length === 0) return
    let update: Uint8Array
    try {
      update = mergeAll(updates)
      // Merging decodes every update; a lone one is decoded here, so none that would make
      // every later load fail is stored.
      if (updates.length === 1) Y.decodeUpdate(update)
    } catch (cause) {
      throw new StoreError(`append ${name}: not a Yjs update: ${(cause as Error).message}`, { cause })
    }
    if (this.#tombstones.has(name)) throw new DocumentDeletedError(name)
    const document = this.#documents.get(name)
    if (document === undefined) {
      this.#documents.set(name, {
        updates: [update],
        size: update.byteLength,
        updatedAt: new Date(),
      })
      return
    }
    document.updates.push(update)
    document.size += update.byteLength
    document.updatedAt = new Date()
  }

  async compact(name: string): Promise<void> {
    this.#assertOpen()
    const document = this.#documents.get(name)
    if (document === undefined || document.updates.length < 2) return
    const merged = replayAll(document.updates)
    document.updates = [merged]
    document.size = merged.byteLength
  }

  async info(name: string): Promise<DocumentInfo | null> {
    this.#assertOpen()
    const document = this.#documents.get(name)
    return document === undefined ? null : toInfo(name, document)
  }

  async list(): Promise<DocumentInfo[]> {
    this.#assertOpen()
    return [...this.#documents.keys()]
      .sort()
      .map((name) => toInfo(name, this.#documents.get(name)!))
  }

  async delete(name: string): Promise<void> {
    this.#assertOpen()
    this.#documents.delete(name)
    this.#versions.delete(name)
    this.#tombstones.add(name)
  }

  async isDeleted(name: string): Promise<boolean> {
    this.#assertOpen()
    return this.#tombstones.has(name)
  }

  async undelete(name: string): Promise<void> {
    this.#assertOpen()
    this.#tombstones.delete(name)
  }

  async saveVersion(
    name: string,
    version: NewVersion,
    options: SaveVersionOptions = {},
  ): Promise<VersionInfo> {
    this.#assertOpen()
    const info = newVersionInfo(version)
    const versions = this.#versions.get(name) ?? []
    versions.push({ info, state: version.state })
    const past = new Set(versionsPastRetention(versions.map((entry) => entry.info), options.retention))
    this.#versions.set(name, versions.filter((entry) => !past.has(entry.info)))
    return info
  }

  async listVersions(name: string, { limit, before }: ListVersionsOptions = {}): Promise<VersionInfo[]> {
    this.#assertOpen()
    // Ids sort by creation, and versions are pushed in creation order.
    const newestFirst = (this.#versions.get(name) ?? []).map((version) => version.info).reverse()
    const start = before === undefined ? 0 : newestFirst.findIndex((info) => info.id < before)
    if (start === -1) return []
    return newestFirst.slice(start, limit === undefined ? undefined : start + limit)
  }

  async loadVersion(name: string, id: string): Promise<Uint8Array | null> {
    this.#assertOpen()
    return this.#versions.get(name)?.find((version) => version.info.id === id)?.state ?? null
  }

  async checkWritable(): Promise<void> {
    this.#assertOpen()
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('the store is closed')
  }
}

function toInfo(name: string, document: StoredDocument): DocumentInfo {
  return { name, size: document.size, updatedAt: document.updatedAt }
}
