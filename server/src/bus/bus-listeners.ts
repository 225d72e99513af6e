import type { Logger } from 'pino'
import type { BusEvents, BusListener, BusMessage, InstanceId } from './bus.js'

/** The part of a logger the buses use. */
export type BusLogger = Pick<Logger, 'info' | 'warn' | 'error'>

/**
 * A bus's listeners: per-document subscriptions and the `resync`/`instanceDown` events.
 * A listener that throws is logged; it never stops delivery to the others or reaches the
 * transport that delivered the message.
 */
export class BusListeners {
  readonly #documents = new Map<string, Set<{ readonly listener: BusListener }>>()
  readonly #events: { [E in keyof BusEvents]: BusEvents[E][] } = { resync: [], instanceDown: [] }
  readonly #logger: BusLogger | undefined

  constructor(logger: BusLogger | undefined) {
    this.#logger = logger
  }

  /**
   * Adds `listener` for `document`; `first` is true when it is the document's first. The
   * returned function removes it once (calling it again does nothing) and says whether
   * that left the document without listeners.
   */
  add(document: string, listener: BusListener): { first: boolean, remove: () => boolean } {
    let entries = this.#documents.get(document)
    const first = entries === undefined
    if (entries === undefined) {
      entries = new Set()
      this.#documents.set(document, entries)
    }
    // An object per subscription, so one function subscribed twice is two subscriptions.
    const entry = { listener }
    entries.add(entry)
    let removed = false
    return {
      first,
      remove: () => {
        if (removed) return false
        removed = true
        const current = this.#documents.get(document)
        if (current === undefined || !current.delete(entry) || current.size > 0) return false
        this.#documents.delete(document)
        return true
      },
    }
  }

  has(document: string): boolean {
    return this.#documents.has(document)
  }

  deliver(document: string, message: BusMessage, from: InstanceId): void {
    const entries = this.#documents.get(document)
    if (entries === undefined) return
    for (const { listener } of [...entries]) {
      try {
        listener(message, from)
      } catch (error) {
        this.#logger?.error({ err: error, document, type: message.type }, 'a bus listener threw')
      }
    }
  }

  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    this.#events[event].push(listener)
  }

  emit<E extends keyof BusEvents>(event: E, ...args: Parameters<BusEvents[E]>): void {
    for (const listener of [...this.#events[event]]) {
      try {
        (listener as (...values: Parameters<BusEvents[E]>) => void)(...args)
      } catch (error) {
        this.#logger?.error({ err: error, event }, 'a bus event listener threw')
      }
    }
  }
}
