import type { Outbox, OutboxRecord } from '@tandem/persistence/outbox'
import type {
  DocumentInfo,
  DocumentStore,
  ListVersionsOptions,
  NewVersion,
  SaveVersionOptions,
  VersionInfo,
} from '@tandem/persistence/document-store'
import { StoreError, StoreUnavailableError } from '@tandem/persistence/document-store'
import { MemoryStore } from '@tandem/persistence/memory-store'

/**
 * A store whose loads and appends a test can hold back or make fail, around a real one.
 * Held operations wait until `release()`.
 */
export class ControlledStore implements DocumentStore {
  holdLoads = false
  holdAppends = false
  holdCompacts = false
  failLoads = false
  failAppends = false
  /** The store cannot write: the canary of `checkWritable` fails (and so do appends). */
  failWrites = false
  /** The store cannot be reached (a database restarting): appends reject with StoreUnavailableError. */
  unreachable = false
  /** Appends tried while `unreachable`. */
  unreachableAppends = 0
  readonly appended: Uint8Array[][] = []
  #held: Array<() => void> = []

  constructor(readonly inner: DocumentStore = new MemoryStore()) {}

  /** Lets every held operation go on. */
  release(): void {
    this.holdLoads = false
    this.holdAppends = false
    this.holdCompacts = false
    const held = this.#held
    this.#held = []
    for (const resume of held) resume()
  }

  get heldCount(): number {
    return this.#held.length
  }

  async load(name: string): Promise<Uint8Array | null> {
    if (this.holdLoads) await new Promise<void>((resolve) => this.#held.push(resolve))
    if (this.failLoads) throw new StoreError(`load ${name}: failing on purpose`)
    return this.inner.load(name)
  }

  get outbox(): Outbox {
    return this.inner.outbox
  }

  async append(name: string, updates: readonly Uint8Array[], records?: readonly OutboxRecord[]) {
    if (this.holdAppends) await new Promise<void>((resolve) => this.#held.push(resolve))
    if (this.failAppends || this.failWrites) throw new StoreError(`append ${name}: failing on purpose`)
    if (this.unreachable) {
      this.unreachableAppends++
      throw new StoreUnavailableError(`append ${name}: unreachable on purpose`)
    }
    await this.inner.append(name, updates, records)
    this.appended.push([...updates])
  }

  async compact(name: string): Promise<void> {
    if (this.holdCompacts) await new Promise<void>((resolve) => this.#held.push(resolve))
    return this.inner.compact(name)
  }

  info(name: string): Promise<DocumentInfo | null> {
    return this.inner.info(name)
  }

  list(): Promise<DocumentInfo[]> {
    return this.inner.list()
  }

  delete(name: string, records?: readonly OutboxRecord[]): Promise<void> {
    return this.inner.delete(name, records)
  }

  isDeleted(name: string): Promise<boolean> {
    return this.inner.isDeleted(name)
  }

  undelete(name: string): Promise<void> {
    return this.inner.undelete(name)
  }

  saveVersion(name: string, version: NewVersion, options?: SaveVersionOptions): Promise<VersionInfo> {
    return this.inner.saveVersion(name, version, options)
  }

  listVersions(name: string, options?: ListVersionsOptions): Promise<VersionInfo[]> {
    return this.inner.listVersions(name, options)
  }

  loadVersion(name: string, id: string): Promise<Uint8Array | null> {
    return this.inner.loadVersion(name, id)
  }

  async checkWritable(): Promise<void> {
    if (this.failWrites) throw new StoreError('write the canary: failing on purpose')
    return this.inner.checkWritable()
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
