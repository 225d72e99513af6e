import { StoreUnavailableError } from '@tandem/persistence/document-store'
import { mergeAll } from '@tandem/persistence/merge'

/** Updates received in one event-loop turn, written to the store as one append. */
export interface Batch<Sender> {
  readonly updates: Uint8Array[]
  /** Who sent each update (null: the server itself). */
  readonly senders: Sender[]
  /** Who made the changes, where no sender tells (HTTP API callers), for webhooks. */
  readonly editors: Set<string>
  /** Run once the batch is durable, or with the error when it could not be stored. */
  readonly waiters: Array<(error?: unknown) => void>
}

export interface WritePipelineOptions<Sender> {
  /**
   * Stores one merged update of `batch`; resolves with its revision (null: the store does
   * not number appends).
   */
  readonly write: (merged: Uint8Array, batch: Batch<Sender>) => Promise<number | null>
  /** A batch is durable: relay and acknowledge it. An error thrown here fails the pipeline. */
  readonly stored: (batch: Batch<Sender>, merged: Uint8Array, revision: number | null) => void
  /**
   * The pipeline failed for good (a write failed, or `stored` threw: `relaying`); waiting
   * callers get the error after this returns.
   */
  readonly failed: (error: unknown, relaying: boolean) => void
  /** How long a write is retried while the store is unreachable (StoreUnavailableError). */
  readonly retryForMs: number
  /** A write failed with StoreUnavailableError and is retried after `delayMs`. */
  readonly retrying: (error: unknown, delayMs: number) => void
}

const FIRST_RETRY_MS = 100
const LONGEST_RETRY_MS = 2_000

/**
 * Group commit for one document: updates applied during one event-loop turn are merged into
 * one store write, one write at a time. While the store is unreachable the write in flight
 * is retried (nothing is acknowledged or relayed meanwhile) until `retryForMs` passes.
 */
export class WritePipeline<Sender> {
  readonly #options: WritePipelineOptions<Sender>
  #pending: Batch<Sender> | null = null
  #writing: Batch<Sender> | null = null
  #scheduled = false
  #retry: NodeJS.Timeout | null = null
  #failure: unknown = undefined

  constructor(options: WritePipelineOptions<Sender>) {
    this.#options = options
  }

  /** Why the pipeline failed, or undefined while it works. */
  get failure(): unknown {
    return this.#failure
  }

  /** Adds an applied update to the next write; `editor` names an API caller. */
  enqueue(sender: Sender, update: Uint8Array, editor: string | null = null): void {
    this.#pending ??= { updates: [], senders: [], editors: new Set(), waiters: [] }
    this.#pending.updates.push(update)
    this.#pending.senders.push(sender)
    if (editor !== null) this.#pending.editors.add(editor)
    this.#schedule()
  }

  /** Runs `callback` once everything enqueued so far is durable (or with the failure). */
  afterDurable(callback: (error?: unknown) => void): void {
    const batch = this.#pending ?? this.#writing
    if (this.#failure !== undefined) callback(this.#failure)
    else if (batch === null) callback()
    else batch.waiters.push(callback)
  }

  /** Resolves once everything enqueued so far is durable. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.afterDurable((error) => (error === undefined ? resolve() : reject(error)))
    })
  }

  /** Fails the pipeline: nothing more is written, every waiter gets `error`. */
  fail(error: unknown, relaying = false): void {
    if (this.#failure !== undefined) return
    this.#failure = error ?? new Error('store write failed')
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.#options.failed(error, relaying)
    for (const batch of [this.#writing, this.#pending]) {
      for (const waiter of batch?.waiters ?? []) waiter(this.#failure)
    }
    this.#writing = null
    this.#pending = null
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing !== null) return
    this.#scheduled = true
    setImmediate(() => this.#write())
  }

  #write(): void {
    this.#scheduled = false
    const batch = this.#pending
    if (batch === null || this.#failure !== undefined) return
    this.#pending = null
    this.#writing = batch
    this.#attempt(batch, mergeAll(batch.updates), Date.now(), FIRST_RETRY_MS)
  }

  #attempt(batch: Batch<Sender>, merged: Uint8Array, since: number, delay: number): void {
    this.#options.write(merged, batch).then(
      (revision) => this.#stored(batch, merged, revision),
      (error: unknown) => {
        if (this.#failure !== undefined) return
        if (!(error instanceof StoreUnavailableError) || Date.now() - since >= this.#options.retryForMs) {
          this.fail(error)
          return
        }
        this.#options.retrying(error, delay)
        this.#retry = setTimeout(() => {
          this.#retry = null
          if (this.#failure !== undefined) return
          this.#attempt(batch, merged, since, Math.min(delay * 2, LONGEST_RETRY_MS))
        }, delay)
      },
    )
  }

  #stored(batch: Batch<Sender>, merged: Uint8Array, revision: number | null): void {
    this.#writing = null
    if (this.#failure !== undefined) return
    try {
      this.#options.stored(batch, merged, revision)
      for (const waiter of batch.waiters) waiter()
    } catch (error) {
      // Peers may have seen part of the batch and not the rest: only closing the document
      // (so everyone resyncs from the store, which has all of it) puts them back in step.
      this.fail(error, true)
      for (const waiter of batch.waiters) waiter(this.#failure)
      return
    }
    if (this.#pending !== null) this.#schedule()
  }
}
