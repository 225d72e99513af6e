/** What a store knows about one document without loading it. */
export interface DocumentInfo {
  readonly name: string
  /** Bytes the document occupies in the store (all stored updates). */
  readonly size: number
  readonly updatedAt: Date
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
   * survive a crash; when it rejects, none of them may be assumed stored.
   */
  append(name: string, updates: readonly Uint8Array[]): Promise<void>
  /** Replaces the stored updates of a document with one merged update. */
  compact(name: string): Promise<void>
  info(name: string): Promise<DocumentInfo | null>
  /** Every stored document, ordered by name. */
  list(): Promise<DocumentInfo[]>
  delete(name: string): Promise<void>
  /** Waits for pending writes, then releases the store. */
  close(): Promise<void>
}

/** A store operation failed; the message names the document and the operation. */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreError'
  }
}
