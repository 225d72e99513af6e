import { DocumentDeletedError, type DocumentStore } from '@tandem/persistence/document-store'
import { isSharedStore } from '@tandem/persistence/shared-store'
import type { Logger } from 'pino'
import type { Bus, BusMessage, InstanceId } from '../bus/bus.js'
import { CloseCode } from '../close-codes.js'
import type { Metrics } from '../metrics.js'
import type { Peer } from '../peer.js'
import type { ChangeRecorder } from '../webhooks/webhooks.js'
import { BUS_ORIGIN } from './origin.js'
import { type LoadedDocument, Room } from './room.js'

export interface RoomRegistryOptions {
  readonly store: DocumentStore
  /** Fan-out to and from the other instances (a lone local bus for one instance). */
  readonly bus: Bus
  readonly logger: Logger
  /** How long an empty room stays loaded, in milliseconds. */
  readonly unloadDelayMs: number
  readonly metrics: Metrics
  /** Save a version when a document changed and this long passed since the last one. */
  readonly versionIntervalMs?: number
  /** Versions of a document kept besides the ones users labelled; unset keeps all. */
  readonly versionRetention?: number
  /** The rooms' clock (versions, presence expiry); `Date.now` by default. */
  readonly now?: () => number
  /** How long a room retries a write while the store is unreachable. */
  readonly storeRetryMs?: number
  /** Which changes are recorded for webhooks, in the writes that store them. */
  readonly recorder?: ChangeRecorder
  /**
   * With a shared store: how often loaded documents are checked for revisions this instance
   * missed (default 2 s), so instances converge even when the bus dropped messages.
   */
  readonly catchUpIntervalMs?: number
}

/** What a room retired at shutdown does after its flush: nothing (no compaction at shutdown). */
const flushOnly = (): Promise<void> => Promise.resolve()

/** The registry's own peer while it works on a document for the HTTP API: sends nothing. */
const serverPeer = (): Peer => ({
  encoder: { id: 'server', encode: () => null },
  canWrite: true,
  presenceName: null,
  send: () => {},
  close: () => {},
})

type Entry =
  | { readonly state: 'loading', readonly room: Promise<Room> }
  | { readonly state: 'ready', readonly room: Room, timer: NodeJS.Timeout | null, readonly unsubscribe: () => void }
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
 * it; an empty room is unloaded (its writes flushed, a compaction queued) after a delay,
 * and a joiner arriving while it unloads waits and gets the document loaded afresh.
 *
 * Each loaded room listens to the bus for its document. With a shared store, rooms catch
 * up from the store on what the bus dropped: when the bus comes back, every
 * `catchUpIntervalMs`, and before the HTTP API reads or writes a document.
 */
export class RoomRegistry {
  readonly #entries = new Map<string, Entry>()
  readonly #options: RoomRegistryOptions
  readonly #catchUpTimer: NodeJS.Timeout | null = null
  #catchingUp = false
  #closed = false

  constructor(options: RoomRegistryOptions) {
    this.#options = options
    options.bus.on('instanceDown', (instance) => this.#forgetInstance(instance))
    options.bus.on('resync', () => this.#resync())
    if (isSharedStore(options.store)) {
      const interval = options.catchUpIntervalMs ?? 2_000
      this.#catchUpTimer = setInterval(() => void this.#catchUpAll(), interval).unref()
    }
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
   * RoomLoadError when the store fails, RegistryClosedError while shutting down,
   * DocumentDeletedError when the document was deleted (and not created again).
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

  /**
   * Runs `work` on the document's room, loading it if needed and keeping it loaded until
   * `work` is done: the HTTP API goes through the same room as every client.
   */
  async use<T>(name: string, work: (room: Room) => Promise<T>): Promise<T> {
    const peer = serverPeer()
    const room = await this.join(name, peer)
    try {
      // What another instance acknowledged before this request began is here before it runs.
      await room.catchUp()
      return await work(room)
    } finally {
      room.leave(peer)
    }
  }

  /**
   * Whether the document was deleted and not created again; a loaded one was not. A joiner
   * is refused on this before anything of the document is sent.
   */
  async isDeleted(name: string): Promise<boolean> {
    const entry = this.#entries.get(name)
    if (entry !== undefined && entry.state !== 'unloading') return false
    return this.#options.store.isDeleted(name)
  }

  /**
   * Deletes a document: its writes are flushed, its clients closed with 4404, then it and its
   * versions are removed from the store, which keeps a tombstone. Joiners meanwhile wait,
   * then are refused with DocumentDeletedError until `undelete`.
   */
  async delete(name: string): Promise<void> {
    let failure: unknown
    const records = this.#options.recorder?.records('document.deleted', name)
    const remove = () => this.#options.store.delete(name, records).catch((error: unknown) => {
      failure = error
    })
    for (;;) {
      const entry = this.#entries.get(name)
      if (entry === undefined) {
        // An entry while the tombstone is written, so no joiner loads the document meanwhile.
        const deleting: Entry = { state: 'unloading', done: remove() }
        this.#entries.set(name, deleting)
        await deleting.done
        if (this.#entries.get(name) === deleting) this.#entries.delete(name)
        break
      }
      if (entry.state === 'ready') {
        await this.#retire(name, entry, CloseCode.documentDeleted, remove)
        break
      }
      if (entry.state === 'loading') await entry.room.catch(() => undefined)
      else await entry.done
    }
    if (failure !== undefined) throw failure
    this.#options.bus.publish(name, { type: 'deleted' })
  }

  /** A deleted document is created again on purpose (HTTP create or replace): clears its tombstone. */
  async undelete(name: string): Promise<void> {
    for (let entry = this.#entries.get(name); entry?.state === 'unloading'; entry = this.#entries.get(name)) {
      await entry.done
    }
    await this.#options.store.undelete(name)
  }

  /** Flushes every room, closes its peers with `code` and unloads it, compacting nothing. */
  async close(code: CloseCode = CloseCode.serviceRestart): Promise<void> {
    this.#closed = true
    if (this.#catchUpTimer !== null) clearInterval(this.#catchUpTimer)
    const pending: Array<Promise<unknown>> = []
    for (const [name, entry] of this.#entries) {
      if (entry.state === 'ready') pending.push(this.#retire(name, entry, code, flushOnly))
      else if (entry.state === 'loading') pending.push(entry.room.catch(() => undefined))
      else pending.push(entry.done)
    }
    await Promise.all(pending)
    // Rooms that finished loading during the wait.
    for (const [name, entry] of this.#entries) {
      if (entry.state === 'ready') await this.#retire(name, entry, code, flushOnly)
    }
  }

  #load(name: string): Entry {
    const { store, bus, logger, metrics } = this.#options
    const read: Promise<LoadedDocument> = isSharedStore(store)
      ? store.loadAtRevision(name)
      : store.load(name).then((state) => ({ state, revision: null }))
    const room = read.then(async (loaded) => {
      if (loaded.state === null && (await store.isDeleted(name))) throw new DocumentDeletedError(name, 'open')
      return loaded
    }).then(
      (state) => {
        const loaded = new Room(name, state, {
          store,
          bus,
          storeRetryMs: this.#options.storeRetryMs,
          recorder: this.#options.recorder,
          logger,
          metrics,
          versionIntervalMs: this.#options.versionIntervalMs,
          versionRetention: this.#options.versionRetention,
          now: this.#options.now,
          onEmpty: (empty) => this.#scheduleUnload(empty),
          onFailed: (failed) => this.#forget(failed),
        })
        // Once the subscription is in place, the others are asked for their clients' presence,
        // and what was stored between the load and then is read back.
        const listener = (message: BusMessage, from: InstanceId) => this.#fromBus(loaded, message, from)
        const unsubscribe = bus.subscribe(name, listener, () => {
          bus.publish(name, { type: 'query-awareness' })
          this.#catchUp(loaded)
        })
        this.#entries.set(name, { state: 'ready', room: loaded, timer: null, unsubscribe })
        metrics.rooms.inc()
        return loaded
      },
      (cause: unknown) => {
        this.#entries.delete(name)
        if (cause instanceof DocumentDeletedError) throw cause
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

  /**
   * Unloads an idle room. Its compaction is queued, not awaited: the store runs compactions
   * one at a time beside the writes, and a joiner need not wait for it.
   */
  #unload(name: string, entry: Entry & { state: 'ready' }, code: CloseCode): Promise<void> {
    return this.#retire(name, entry, code, async () => {
      this.#options.store.compact(name).catch((error: unknown) => {
        this.#options.logger.warn({ err: error, document: name }, 'compaction of an unloaded document failed')
      })
    })
  }

  /** Flushes a room's writes, closes its peers with `code`, runs `then`, and forgets it. */
  #retire(
    name: string,
    entry: Entry & { state: 'ready' },
    code: CloseCode,
    then: () => Promise<void>,
  ): Promise<void> {
    if (entry.timer !== null) clearTimeout(entry.timer)
    entry.unsubscribe()
    const { room } = entry
    const done = (async () => {
      try {
        await room.flush()
        room.closePeers(code)
        await then()
      } catch (error) {
        if (!(error instanceof DocumentDeletedError)) {
          this.#options.logger.error({ err: error, document: name }, 'could not flush the document')
        }
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
      entry.unsubscribe()
      this.#entries.delete(room.name)
      this.#options.metrics.rooms.dec()
      room.destroy()
    }
  }

  /** A message another instance published about a loaded document. */
  #fromBus(room: Room, message: BusMessage, from: InstanceId): void {
    try {
      switch (message.type) {
        case 'update':
          room.applyReplicated(message.update, BUS_ORIGIN, message.revision)
          break
        case 'awareness':
          room.receiveRemoteAwareness(from, message.update)
          break
        case 'query-awareness':
          room.publishPresence()
          break
        case 'deleted':
          this.#deletedElsewhere(room)
          break
      }
    } catch (error) {
      // One instance's bad message must not reach the others' clients; the store has the truth.
      this.#options.logger.warn({ err: error, document: room.name, from, type: message.type }, 'a bus message could not be applied')
      this.#catchUp(room)
    }
  }

  /** Another instance deleted the document: its clients here are closed with 4404 and it is unloaded. */
  #deletedElsewhere(room: Room): void {
    const entry = this.#entries.get(room.name)
    if (entry?.state !== 'ready' || entry.room !== room) return
    room.closePeers(CloseCode.documentDeleted)
    void this.#retire(room.name, entry, CloseCode.documentDeleted, flushOnly)
  }

  #forgetInstance(instance: InstanceId): void {
    for (const entry of this.#entries.values()) {
      if (entry.state === 'ready') entry.room.forgetInstance(instance)
    }
  }

  /** The bus is back after an outage: catch up, and exchange presence again. */
  #resync(): void {
    const { bus } = this.#options
    for (const [name, entry] of this.#entries) {
      if (entry.state !== 'ready') continue
      this.#catchUp(entry.room)
      entry.room.publishPresence()
      bus.publish(name, { type: 'query-awareness' })
    }
  }

  #catchUp(room: Room): void {
    room.catchUp().then((changed) => {
      if (changed) this.#options.metrics.caughtUp.inc()
    }, (error: unknown) => {
      this.#options.logger.warn({ err: error, document: room.name }, 'catching up from the store failed; retried later')
    })
  }

  /**
   * Compares the store's revision of every loaded document with the room's, in one query,
   * and catches up those behind; a document gone from the store was deleted elsewhere.
   */
  async #catchUpAll(): Promise<void> {
    const { store } = this.#options
    if (this.#catchingUp || !isSharedStore(store)) return
    const rooms = [...this.#entries.values()].flatMap((entry) => (entry.state === 'ready' ? [entry.room] : []))
    if (rooms.length === 0) return
    this.#catchingUp = true
    try {
      const revisions = await store.revisions(rooms.map((room) => room.name))
      for (const room of rooms) {
        const revision = revisions.get(room.name)
        if (revision !== undefined && revision > (room.revision ?? 0)) this.#catchUp(room)
        else if (revision === undefined && room.hasContent && (await store.isDeleted(room.name))) {
          this.#deletedElsewhere(room)
        }
      }
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'could not read revisions from the store; retried later')
    } finally {
      this.#catchingUp = false
    }
  }
}
