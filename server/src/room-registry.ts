import type { DocumentStore } from '@tandem/persistence/document-store'
import type { Logger } from 'pino'
import { CloseCode } from './close-codes.js'
import type { Metrics } from './metrics.js'
import type { Peer } from './peer.js'
import { Room, type StatelessHandler } from './room.js'

export interface RoomRegistryOptions {
  readonly store: DocumentStore
  readonly logger: Logger
  /** How long an empty room stays loaded, in milliseconds. */
  readonly unloadDelayMs: number
  readonly metrics: Metrics
  readonly onStateless?: StatelessHandler
}

type Entry =
  | { readonly state: 'loading', readonly room: Promise<Room> }
  | { readonly state: 'ready', readonly room: Room, timer: NodeJS.Timeout | null }
  | { readonly state: 'unloading', readonly done: Promise<void> }

/** A document could not be loaded; its joiners are closed with 1011. */
export class RoomLoadError extends Error {
  constructor(name: string, options: { cause: unknown }) {
    super(`could not load document ${name}`, options)
    this.name = 'RoomLoadError'
  }
}

/** The registry is shutting down and takes no more joins. */
export class RegistryClosedError extends Error {
  constructor() {
    super('the server is shutting down')
    this.name = 'RegistryClosedError'
  }
}

/**
 * One room per loaded document. The first joiner starts the load and later joiners share
 * it; an empty room is unloaded (its writes flushed, its updates compacted) after a delay,
 * and a joiner arriving while it unloads waits and gets the document loaded afresh.
 */
export class RoomRegistry {
  readonly #entries = new Map<string, Entry>()
  readonly #options: RoomRegistryOptions
  #closed = false

  constructor(options: RoomRegistryOptions) {
    this.#options = options
  }

  /** Documents loaded, loading or unloading. */
  get size(): number {
    return this.#entries.size
  }

  /** The loaded room of a document, if any. */
  loaded(name: string): Room | undefined {
    const entry = this.#entries.get(name)
    return entry?.state === 'ready' ? entry.room : undefined
  }

  /**
   * Loads the document if needed and adds the peer to its room. Rejects with
   * RoomLoadError when the store fails, RegistryClosedError while shutting down.
   */
  async join(name: string, peer: Peer): Promise<Room> {
    for (;;) {
      if (this.#closed) throw new RegistryClosedError()
      const entry = this.#entries.get(name) ?? this.#load(name)
      if (entry.state === 'unloading') {
        await entry.done
        continue
      }
      if (entry.state === 'loading') {
        await entry.room
        continue
      }
      if (entry.timer !== null) {
        clearTimeout(entry.timer)
        entry.timer = null
      }
      entry.room.join(peer)
      return entry.room
    }
  }

  /** Flushes every room, closes its peers with 1001 and unloads it. */
  async close(): Promise<void> {
    this.#closed = true
    const pending: Array<Promise<unknown>> = []
    for (const [name, entry] of this.#entries) {
      if (entry.state === 'ready') pending.push(this.#unload(name, entry, CloseCode.goingAway))
      else if (entry.state === 'loading') pending.push(entry.room.catch(() => undefined))
      else pending.push(entry.done)
    }
    await Promise.all(pending)
    // Rooms that finished loading during the wait.
    for (const [name, entry] of this.#entries) {
      if (entry.state === 'ready') await this.#unload(name, entry, CloseCode.goingAway)
    }
  }

  #load(name: string): Entry {
    const { store, logger, metrics, onStateless } = this.#options
    const room = store.load(name).then(
      (state) => {
        const loaded = new Room(name, state, {
          store,
          logger,
          metrics,
          onStateless,
          onEmpty: (empty) => this.#scheduleUnload(empty),
          onFailed: (failed) => this.#forget(failed),
        })
        this.#entries.set(name, { state: 'ready', room: loaded, timer: null })
        metrics.rooms.inc()
        return loaded
      },
      (cause: unknown) => {
        this.#entries.delete(name)
        metrics.storeFailures.inc()
        logger.error({ err: cause, document: name }, 'document load failed')
        throw new RoomLoadError(name, { cause })
      },
    )
    const entry: Entry = { state: 'loading', room }
    this.#entries.set(name, entry)
    return entry
  }

  #scheduleUnload(room: Room): void {
    const entry = this.#entries.get(room.name)
    if (entry?.state !== 'ready' || entry.room !== room || this.#closed) return
    entry.timer ??= setTimeout(() => {
      if (room.peerCount === 0) void this.#unload(room.name, entry, CloseCode.normal)
    }, this.#options.unloadDelayMs)
  }

  #unload(name: string, entry: Entry & { state: 'ready' }, code: CloseCode): Promise<void> {
    if (entry.timer !== null) clearTimeout(entry.timer)
    const { room } = entry
    const done = (async () => {
      try {
        await room.flush()
        room.closePeers(code)
        await this.#options.store.compact(name)
      } catch (error) {
        this.#options.logger.error({ err: error, document: name }, 'unload could not flush')
        room.closePeers(CloseCode.internalError)
      } finally {
        room.destroy()
        this.#entries.delete(name)
        this.#options.metrics.rooms.dec()
      }
    })()
    this.#entries.set(name, { state: 'unloading', done })
    return done
  }

  #forget(room: Room): void {
    const entry = this.#entries.get(room.name)
    if (entry?.state === 'ready' && entry.room === room) {
      if (entry.timer !== null) clearTimeout(entry.timer)
      this.#entries.delete(room.name)
      this.#options.metrics.rooms.dec()
      room.destroy()
    }
  }
}
