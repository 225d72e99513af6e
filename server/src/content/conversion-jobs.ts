import type { ImportKind, TextFormat } from './format-names.js'

/**
 * A conversion a worker of the pool runs. Only strings and bytes cross the thread boundary:
 * cloning them is a copy, where a large object graph would cost the event loop its decoding.
 */
export type ConversionJob =
  /** A request body to checked ProseMirror JSON (as text). */
  | { readonly type: 'import', readonly kind: ImportKind, readonly body: string }
  /** A document state to a text format. */
  | { readonly type: 'export', readonly format: TextFormat, readonly state: Uint8Array }
  /**
   * The update that makes a document in `state` hold `content`: checked ProseMirror JSON
   * text from an import, or another state (a version) whose content to take.
   */
  | { readonly type: 'replace', readonly state: Uint8Array, readonly content: string | Uint8Array }

interface Results {
  readonly import: string
  readonly export: string
  readonly replace: Uint8Array
}

export type ConversionResult<J extends ConversionJob> = Results[J['type']]

/** From the pool to a worker. */
export interface WorkerRequest {
  readonly id: number
  readonly job: ConversionJob
}

/** From a worker to the pool: loaded and waiting, or the outcome of one request. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done', readonly id: number, readonly result: string | Uint8Array }
  | { readonly type: 'failed', readonly id: number, readonly error: { readonly name: string, readonly message: string } }
