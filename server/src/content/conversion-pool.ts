import { availableParallelism } from 'node:os'
import { type ResourceLimits, Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import {
  ContentError,
  ConversionBusyError,
  ConversionTimeoutError,
  ConversionUnavailableError,
} from './conversion-errors.js'
import type { ConversionJob, ConversionResult, WorkerReply, WorkerRequest } from './conversion-jobs.js'

/**
 * The worker's entry: the compiled sibling in dist; when this module runs from its TypeScript
 * source (tests, under tsx), the source, behind a bootstrap that registers tsx in the worker,
 * since Node 20 does not run the parent's `--import` hooks in workers.
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./conversion-worker.js', import.meta.url)
  const source = new URL('./conversion-worker.ts', import.meta.url)
  let tsx: string
  try {
    tsx = import.meta.resolve('tsx/esm/api')
  } catch {
    // Another TypeScript loader: one that reaches workers by itself.
    return source
  }
  const bootstrap = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(source.href)})`
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`)
}

export interface ConversionPoolOptions {
  /** Workers at most; started on first use. Default: the cores but one, 2 to 4. */
  readonly workers?: number
  /** How long one conversion may run in its worker; past it the worker is stopped. */
  readonly timeoutMs: number
  /** Conversions that may wait for a worker; past it, ConversionBusyError. */
  readonly maxQueued: number
  /**
   * Heap and stack limits of each worker: content that needs more fails alone (a 422), not
   * the process. Default: 1 GiB of old generation, twice what a 16 MiB JSON import needs.
   */
  readonly resourceLimits?: ResourceLimits
  readonly logger?: Logger
}

/** The default number of workers: leaves a core to the event loop, at least 2, at most 4. */
export function defaultConversionWorkers(): number {
  return Math.min(4, Math.max(2, availableParallelism() - 1))
}

interface Pending {
  readonly id: number
  readonly job: ConversionJob
  readonly resolve: (result: never) => void
  readonly reject: (error: Error) => void
}

/** One worker: loading Tiptap, waiting for a job, or running one under its time budget. */
interface Slot {
  readonly worker: Worker
  state: 'starting' | 'idle' | 'busy'
  /** The job it runs and the timer of its budget, while busy. */
  running: { readonly pending: Pending, readonly timer: NodeJS.Timeout } | null
}

/**
 * Runs conversions (Markdown, HTML, JSON, Yjs) on a few worker threads, so the event loop
 * keeps serving `/healthz` and every document while one runs. Each job gets a time budget:
 * a worker past it is terminated (the only way to stop a regular expression or a parser in
 * the middle) and replaced by a fresh one at once. Workers start on first use, so a server
 * nobody converts on never loads Tiptap.
 */
export class ConversionPool {
  readonly #options: ConversionPoolOptions
  readonly #size: number
  readonly #slots = new Set<Slot>()
  readonly #queue: Pending[] = []
  #nextId = 0
  #closed = false

  constructor(options: ConversionPoolOptions) {
    this.#options = options
    this.#size = Math.max(1, options.workers ?? defaultConversionWorkers())
  }

  /**
   * Runs `job` on a worker. Rejects with ContentError when the content does not fit,
   * ConversionTimeoutError past the budget, ConversionBusyError when too many wait, and
   * ConversionUnavailableError when the pool is closed or a worker could not run.
   */
  run<J extends ConversionJob>(job: J): Promise<ConversionResult<J>> {
    if (this.#closed) return Promise.reject(new ConversionUnavailableError('the server is stopping'))
    // Workers idle, loading or yet to start take a job each; the rest wait in the queue.
    const ready = this.#count('idle') + this.#count('starting') + this.#size - this.#slots.size
    if (this.#queue.length + 1 > ready + this.#options.maxQueued) {
      return Promise.reject(new ConversionBusyError())
    }
    return new Promise<ConversionResult<J>>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, resolve, reject })
      this.#dispatch()
    })
  }

  /** The time budget of one conversion. */
  get timeoutMs(): number {
    return this.#options.timeoutMs
  }

  /** Thread ids of the live workers (for tests and diagnostics). */
  get threadIds(): number[] {
    return [...this.#slots].map((slot) => slot.worker.threadId)
  }

  /** Rejects every queued and running conversion and stops the workers. */
  async close(): Promise<void> {
    this.#closed = true
    const stopping = new ConversionUnavailableError('the server is stopping')
    for (const pending of this.#queue.splice(0)) pending.reject(stopping)
    const slots = [...this.#slots]
    this.#slots.clear()
    for (const slot of slots) this.#finish(slot)?.reject(stopping)
    await Promise.all(slots.map((slot) => slot.worker.terminate()))
  }

  #count(state: Slot['state']): number {
    let count = 0
    for (const slot of this.#slots) if (slot.state === state) count++
    return count
  }

  /** Hands queued jobs to idle workers; starts workers for the rest, up to the pool size. */
  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return
      if (slot.state === 'idle') this.#start(slot, this.#queue.shift()!)
    }
    while (this.#queue.length > this.#count('starting') && this.#slots.size < this.#size) this.#spawn()
  }

  #start(slot: Slot, pending: Pending): void {
    const { timeoutMs, logger } = this.#options
    const timer = setTimeout(() => {
      this.#slots.delete(slot)
      this.#finish(slot)
      logger?.warn({ job: pending.job.type, timeoutMs }, 'a conversion ran past its time budget; its worker is replaced')
      pending.reject(new ConversionTimeoutError(timeoutMs))
      void slot.worker.terminate()
      // A fresh worker now, so the next conversion does not wait for Tiptap to load.
      this.#spawn()
      this.#dispatch()
    }, timeoutMs)
    slot.state = 'busy'
    slot.running = { pending, timer }
    slot.worker.ref()
    slot.worker.postMessage({ id: pending.id, job: pending.job } satisfies WorkerRequest)
  }

  /** Ends the slot's job, if it runs one: the slot is idle again, the job is returned. */
  #finish(slot: Slot): Pending | null {
    const running = slot.running
    slot.state = 'idle'
    slot.running = null
    // An idle worker must not keep a stopping process alive.
    slot.worker.unref()
    if (running === null) return null
    clearTimeout(running.timer)
    return running.pending
  }

  #spawn(): void {
    // Started for a queued job, so it keeps the process alive until it has run one.
    const resourceLimits = this.#options.resourceLimits ?? { maxOldGenerationSizeMb: 1024 }
    const worker = new Worker(workerEntry(), { resourceLimits })
    const slot: Slot = { worker, state: 'starting', running: null }
    this.#slots.add(slot)
    let failure: Error | null = null
    worker.on('message', (reply: WorkerReply) => {
      if (!this.#slots.has(slot)) return
      if (reply.type === 'ready') {
        slot.state = 'idle'
        worker.unref()
      } else if (slot.running?.pending.id === reply.id) {
        const pending = this.#finish(slot)!
        if (reply.type === 'done') pending.resolve(reply.result as never)
        else pending.reject(reply.error.name === 'ContentError' ? new ContentError(reply.error.message) : new Error(reply.error.message))
      }
      this.#dispatch()
    })
    worker.on('error', (error) => {
      failure = error
    })
    worker.on('exit', (code) => {
      if (!this.#slots.delete(slot)) return
      this.#options.logger?.error({ err: failure, code }, 'a conversion worker exited')
      if (slot.state === 'starting') {
        // It could not even load: the next ones would fail alike, so nobody waits for them.
        const error = new ConversionUnavailableError(`conversions are unavailable: ${failure?.message ?? `exit ${code}`}`)
        for (const pending of this.#queue.splice(0)) pending.reject(error)
      }
      this.#finish(slot)?.reject(workerLost(failure))
      this.#dispatch()
    })
  }
}

/** What a job learns when its worker died under it. */
function workerLost(failure: Error | null): Error {
  if ((failure as NodeJS.ErrnoException | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ContentError('the content needs more memory to convert than a conversion may use')
  }
  return new ConversionUnavailableError(`the conversion failed: ${failure?.message ?? 'its worker exited'}`)
}
