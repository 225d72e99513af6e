import type { DocumentStore } from './document-store.js'
import type { OutboxRecord } from './outbox.js'

/** A document's whole state and the revision it includes. */
export interface StateAtRevision {
  /** Null when the document does not exist. */
  readonly state: Uint8Array | null
  readonly revision: number
}

/** What was appended to a document after a revision. */
export interface ChangesSince {
  /** Everything appended after the asked revision, merged; null when nothing was. */
  readonly update: Uint8Array | null
  /** The revision `update` brings its reader to. */
  readonly revision: number
}

/**
 * A store that several server instances write at once (Postgres). Each append to a document
 * gets the next revision of that document, in commit order, so an instance that missed a
 * message from another one catches up by reading what came after the last revision it saw.
 * Compaction keeps a document's revision. A document created again after a delete starts
 * again from revision 1.
 *
 * Implementations run `describeSharedStore` in `shared-store-contract.ts` besides the
 * `DocumentStore` contract.
 */
export interface SharedDocumentStore extends DocumentStore {
  readonly shared: true
  /**
   * `append`, resolving with the revision this append got. An empty `updates` appends
   * nothing and resolves with the current revision (0 for a document that does not exist).
   * A `document.created` record of an append to a document that exists already is stored
   * as `document.updated`: two instances may both write what each took for the first change.
   */
  appendAt(name: string, updates: readonly Uint8Array[], records?: readonly OutboxRecord[]): Promise<number>
  /** `load` with the revision the state includes, read at one moment. */
  loadAtRevision(name: string): Promise<StateAtRevision>
  /** The current revision of each named document that exists (never written and deleted ones are absent). */
  revisions(names: readonly string[]): Promise<Map<string, number>>
  /** What was appended after `revision` (0 for everything). */
  changesSince(name: string, revision: number): Promise<ChangesSince>
}

/** Whether a store is shared by several instances. */
export function isSharedStore(store: DocumentStore): store is SharedDocumentStore {
  return 'shared' in store && store.shared === true
}
