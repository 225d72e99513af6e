import type { DocumentStore, VersionInfo } from '@tandem/persistence/document-store'
import { mergeAll } from '@tandem/persistence/merge'
import type { Logger } from 'pino'
import * as Y from 'yjs'
import { CloseCode, reasonFor } from './close-codes.js'
import type { Metrics } from './metrics.js'
import type { Peer } from './peer.js'
import { Presence } from './presence.js'
import type { AwarenessEntry, ClientMessage, ServerMessage } from './protocol/messages.js'
import { ProtocolError } from './protocol/messages.js'
import { addedTypeDepth, type DecodedUpdate, isContainedIn, MAX_TYPE_DEPTH } from './protocol/update-shape.js'
import { decodeUpdate, writeAwarenessUpdate } from './protocol/yjs-payloads.js'

export interface RoomOptions {
  readonly store: DocumentStore
  readonly logger: Logger
  /** Called when the last peer has left. */
  readonly onEmpty: (room: Room) => void
  /** Called once when a store write failed; the room has closed its peers already. */
  readonly onFailed: (room: Room, error: unknown) => void
  readonly metrics: Metrics
  /** Save a version when the document changed and this long passed since the last one. */
  readonly versionIntervalMs?: number
  /** Versions kept besides the `kept` ones: each save deletes the oldest past it. */
  readonly versionRetention?: number
  /** The clock of the version policy and of presence expiry; `Date.now` by default. */
  readonly now?: () => number
}

/** A read-only client sending this many changes is closed (1008): it will never stop. */
const MAX_REFUSED_UPDATES = 20
/** How often states nobody renewed are looked for. */
const PRESENCE_SWEEP_MS = 5_000

const STORED: ServerMessage = { type: 'sync-status', applied: true }
const REFUSED: ServerMessage = { type: 'sync-status', applied: false }

/** Updates received in one event-loop turn, written to the store as one append. */
interface Batch {
  readonly updates: Uint8Array[]
  readonly senders: Array<Peer | null>
  /** Run once the batch is durable, or with the error when it could not be stored. */
  readonly waiters: Array<(error?: unknown) => void>
}

/**
 * One loaded document and everyone connected to it.
 *
 * Write before relay: an update is applied to the document at once, but relayed to the
 * other peers only after the store has it. Updates of one turn are merged into one store
 * write and one relayed message. Sync replies wait for the same write, so no peer ever
 * sees content the store might not have.
 */
export class Room {
  readonly doc: Y.Doc
  readonly #store: DocumentStore
  readonly #logger: Logger
  readonly #options: RoomOptions
  /** Everyone here, with how many updates each sent that a read-only token may not make. */
  readonly #peers = new Map<Peer, { refused: number }>()
  readonly #presence: Presence<Peer>
  #presenceSweep: NodeJS.Timeout | null = null
  readonly #now: () => number
  #pending: Batch | null = null
  #writing: Batch | null = null
  #scheduled = false
  #failure: unknown = undefined
  #changedSinceVersion = false
  /** The whole state, encoded, and its sync step 2 frames by encoder id; reset on change. */
  #fullState: Uint8Array | null = null
  #fullStateFrames = new Map<string, Uint8Array | null>()
  #savingVersion = false
  #lastVersionAt: number

  constructor(
    readonly name: string,
    state: Uint8Array | null,
    options: RoomOptions,
  ) {
    this.doc = new Y.Doc({ gc: true })
    if (state !== null) Y.applyUpdate(this.doc, state, 'load')
    this.#store = options.store
    this.#logger = options.logger
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#presence = new Presence<Peer>(this.#now)
    this.#lastVersionAt = this.#now()
  }

  /** Whether anything was ever written to the document (an empty room is just a meeting place). */
  get hasContent(): boolean {
    return this.doc.store.clients.size > 0
  }

  get peerCount(): number {
    return this.#peers.size
  }

  /** The names people here show in their presence (`user.name`), for the document list. */
  editors(): string[] {
    const names: string[] = []
    for (const entry of this.#presence.current()) {
      try {
        const name = (JSON.parse(entry.state!) as { user?: { name?: unknown } } | null)?.user?.name
        if (typeof name === 'string' && name !== '') names.push(name)
      } catch {
        // States are checked to be JSON when they arrive; nothing to do.
      }
    }
    return names
  }

  /** Adds a peer and opens the sync handshake with it. */
  join(peer: Peer): void {
    if (this.#failure !== undefined) {
      peer.close(CloseCode.internalError, reasonFor(CloseCode.internalError))
      return
    }
    this.#peers.set(peer, { refused: 0 })
    this.#send(peer, { type: 'sync-step-1', stateVector: Y.encodeStateVector(this.doc) })
    const present = this.#presence.current()
    if (present.length > 0) {
      this.#send(peer, { type: 'awareness', update: writeAwarenessUpdate(present) })
    }
  }

  /** Removes a peer and its presence. */
  leave(peer: Peer): void {
    if (!this.#peers.delete(peer)) return
    const removed = this.#presence.leave(peer)
    if (removed.length > 0) {
      this.#broadcast({ type: 'awareness', update: writeAwarenessUpdate(removed) }, peer)
    }
    if (this.#peers.size === 0) this.#options.onEmpty(this)
  }

  /**
   * Removes presence states their clients stopped renewing (a client that vanished without
   * closing its socket, or a state relayed for someone gone); runs on a timer too.
   */
  expirePresence(): void {
    const removed = this.#presence.expire()
    if (removed.length > 0) {
      this.#broadcast({ type: 'awareness', update: writeAwarenessUpdate(removed) }, null)
    }
  }

  /** Handles one decoded message from a peer that has joined. */
  receive(peer: Peer, message: ClientMessage): void {
    if (this.#failure !== undefined || !this.#peers.has(peer)) return
    switch (message.type) {
      case 'sync-step-1': {
        // A joiner with nothing gets the whole state: encoded once and shared until the next
        // change, so a crowd joining a large document costs one copy, not one each.
        if (isEmptyStateVector(message.stateVector)) {
          this.#fullState ??= Y.encodeStateAsUpdate(this.doc)
          const state = this.#fullState
          const frames = this.#fullStateFrames
          this.#afterDurable((error) => {
            if (error === undefined) this.#sendFullState(peer, state, frames)
          })
          break
        }
        const update = Y.encodeStateAsUpdate(this.doc, message.stateVector)
        this.#afterDurable((error) => {
          if (error === undefined) this.#send(peer, { type: 'sync-step-2', update })
        })
        break
      }
      case 'update':
        if (peer.canWrite) this.#apply(peer, message.update, message.decoded)
        else this.#dropReadOnly(peer, message.update, message.decoded)
        break
      case 'awareness':
        this.#receiveAwareness(peer, message.update, message.entries)
        break
      case 'query-awareness':
        this.#send(peer, {
          type: 'awareness',
          update: writeAwarenessUpdate(this.#presence.current()),
        })
        break
      case 'stateless':
        this.#broadcast({ type: 'stateless', payload: message.payload }, peer)
        break
    }
  }

  /** The whole state as one update, once everything applied so far is stored. */
  async encodeState(): Promise<Uint8Array> {
    await this.flush()
    return Y.encodeStateAsUpdate(this.doc)
  }

  /** Stores the whole state as it is (so a new, empty document exists); resolves once stored. */
  storeState(): Promise<void> {
    this.#assertUsable()
    this.#enqueue(null, Y.encodeStateAsUpdate(this.doc))
    return this.flush()
  }

  /** Merges a Yjs update into the document on the server's behalf; resolves once stored. */
  applyUpdate(update: Uint8Array): Promise<void> {
    this.#assertUsable()
    this.#apply(null, update)
    return this.flush()
  }

  /**
   * Saves the current state as a version, once everything applied so far is stored. A
   * `kept` version (a user labelled it) is never deleted by the version retention.
   */
  async saveVersion(
    label: string | null,
    author: string | null,
    { kept = false }: { readonly kept?: boolean } = {},
  ): Promise<VersionInfo> {
    await this.flush()
    this.#changedSinceVersion = false
    this.#lastVersionAt = this.#now()
    const state = Y.encodeStateAsUpdate(this.doc)
    const retention = this.#options.versionRetention
    return this.#store.saveVersion(this.name, { label, author, state, kept }, { retention })
  }

  /** Resolves once every update applied so far is in the store. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#afterDurable((error) => (error === undefined ? resolve() : reject(error)))
    })
  }

  /** Closes every peer; the room takes no more messages from them. */
  closePeers(code: CloseCode, reason = reasonFor(code)): void {
    for (const peer of [...this.#peers.keys()]) {
      this.#peers.delete(peer)
      peer.close(code, reason)
    }
  }

  destroy(): void {
    if (this.#presenceSweep !== null) clearInterval(this.#presenceSweep)
    this.doc.destroy()
  }

  /**
   * Applies an update, unless it would nest types deeper than the conversions can hold
   * (ProtocolError, 1002: nothing applied). `decoded` is the codec's decoding, when it had one.
   */
  #apply(sender: Peer | null, update: Uint8Array, decoded?: DecodedUpdate): void {
    // Clients answer sync step 1 with an empty update when they have nothing new:
    // nothing to store or relay, but the sender still waits for its acknowledgement.
    if (isEmptyUpdate(update)) {
      if (sender !== null) {
        this.#afterDurable((error) => {
          if (error === undefined) this.#send(sender, STORED)
        })
      }
      return
    }
    const depth = addedTypeDepth(this.doc, decoded ?? decodeUpdate(update))
    if (depth > MAX_TYPE_DEPTH) {
      throw new ProtocolError(`the update nests elements ${depth} deep; at most ${MAX_TYPE_DEPTH}`, CloseCode.protocolError)
    }
    this.#options.metrics.updates.inc()
    Y.applyUpdate(this.doc, update, sender)
    this.#enqueue(sender, update)
  }

  /** Sends a whole state as sync step 2, encoding it once per protocol for that state. */
  #sendFullState(peer: Peer, state: Uint8Array, frames: Map<string, Uint8Array | null>): void {
    let frame = frames.get(peer.encoder.id)
    if (frame === undefined) {
      frame = peer.encoder.encode({ type: 'sync-step-2', update: state })
      frames.set(peer.encoder.id, frame)
    }
    if (frame !== null) peer.send(frame)
  }

  /** Adds an applied update to the next store write. */
  #enqueue(sender: Peer | null, update: Uint8Array): void {
    this.#fullState = null
    this.#fullStateFrames = new Map()
    if (this.#pending === null) this.#pending = { updates: [], senders: [], waiters: [] }
    this.#pending.updates.push(update)
    this.#pending.senders.push(sender)
    this.#changedSinceVersion = true
    this.#schedule()
  }

  #dropReadOnly(peer: Peer, update: Uint8Array, decoded?: DecodedUpdate): void {
    // What the document already has is acknowledged, so a read-only client that changed
    // nothing (its sync step 2) is not left waiting; only new content counts as dropped.
    if (isEmptyUpdate(update) || isContainedIn(this.doc, decoded ?? decodeUpdate(update))) {
      this.#send(peer, STORED)
      return
    }
    this.#options.metrics.readOnlyUpdatesDropped.inc()
    this.#logger.debug({ document: this.name }, 'dropped an update from a read-only client')
    this.#send(peer, REFUSED)
    const state = this.#peers.get(peer)!
    if (++state.refused >= MAX_REFUSED_UPDATES) {
      throw new ProtocolError('a read-only token may not send changes', CloseCode.policyViolation)
    }
  }

  #receiveAwareness(peer: Peer, update: Uint8Array, entries: readonly AwarenessEntry[]): void {
    const applied = this.#presence.apply(peer, entries)
    if (applied.length === 0) return
    this.#presenceSweep ??= setInterval(() => this.expirePresence(), PRESENCE_SWEEP_MS).unref()
    this.#broadcast(
      {
        type: 'awareness',
        update: applied.length === entries.length ? update : writeAwarenessUpdate(applied),
      },
      peer,
    )
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
    const merged = mergeAll(batch.updates)
    this.#store.append(this.name, [merged]).then(
      () => this.#stored(batch, merged),
      (error: unknown) => this.#fail(error),
    )
  }

  /** A batch is durable: relay it, acknowledge it, wake its waiters. */
  #stored(batch: Batch, merged: Uint8Array): void {
    this.#writing = null
    if (this.#failure !== undefined) return
    try {
      this.#relay(batch, merged)
      for (const sender of batch.senders) if (sender !== null) this.#send(sender, STORED)
      for (const waiter of batch.waiters) waiter()
    } catch (error) {
      // Peers may have seen part of the batch and not the rest: only closing the document
      // (so everyone resyncs from the store, which has all of it) puts them back in step.
      this.#fail(error, batch)
      return
    }
    if (this.#pending !== null) this.#schedule()
    this.#maybeSaveVersion()
  }

  /** Sends a durable batch to every peer, leaving out what each peer sent itself. */
  #relay(batch: Batch, merged: Uint8Array): void {
    const senders = new Set(batch.senders)
    if (senders.size === 1) {
      this.#broadcast({ type: 'update', update: merged }, batch.senders[0] ?? null)
      return
    }
    const everything = this.#frameCache({ type: 'update', update: merged })
    for (const peer of this.#peers.keys()) {
      if (!senders.has(peer)) {
        const frame = everything(peer)
        if (frame !== null) peer.send(frame)
        continue
      }
      const others = batch.updates.filter((_, index) => batch.senders[index] !== peer)
      this.#send(peer, { type: 'update', update: mergeAll(others) })
    }
  }

  /** A version after a period of activity: changed, and the interval passed since the last. */
  #maybeSaveVersion(): void {
    const interval = this.#options.versionIntervalMs
    if (!this.#changedSinceVersion || this.#savingVersion || interval === undefined) return
    if (this.#now() - this.#lastVersionAt < interval) return
    this.#savingVersion = true
    this.saveVersion(null, null)
      .catch((error: unknown) => this.#logger.error({ err: error, document: this.name }, 'automatic version failed'))
      .finally(() => {
        this.#savingVersion = false
      })
  }

  #assertUsable(): void {
    if (this.#failure !== undefined) throw new Error(`document ${this.name} failed to store and is closing`)
  }

  #afterDurable(callback: (error?: unknown) => void): void {
    const batch = this.#pending ?? this.#writing
    if (this.#failure !== undefined) callback(this.#failure)
    else if (batch === null) callback()
    else batch.waiters.push(callback)
  }

  /** Closes the document after a failed write, or a failure handling one (`stored`). */
  #fail(error: unknown, stored: Batch | null = null): void {
    if (this.#failure !== undefined) return
    this.#failure = error ?? new Error('store write failed')
    this.#options.metrics.storeFailures.inc()
    this.#logger.error(
      { err: error, document: this.name },
      stored === null ? 'store write failed; closing document' : 'relaying a stored write failed; closing document',
    )
    this.closePeers(CloseCode.internalError)
    for (const batch of [stored, this.#writing, this.#pending]) {
      for (const waiter of batch?.waiters ?? []) waiter(this.#failure)
    }
    this.#writing = null
    this.#pending = null
    this.#options.onFailed(this, error)
  }

  #send(peer: Peer, message: ServerMessage): void {
    const frame = peer.encoder.encode(message)
    if (frame !== null) peer.send(frame)
  }

  /** Encodes `message` once per encoder and sends it to every peer but `except`. */
  #broadcast(message: ServerMessage, except: Peer | null): void {
    const frameFor = this.#frameCache(message)
    for (const peer of this.#peers.keys()) {
      if (peer === except) continue
      const frame = frameFor(peer)
      if (frame !== null) peer.send(frame)
    }
  }

  /** Frames of one message by encoder id: each protocol's bytes are made once. */
  #frameCache(message: ServerMessage): (peer: Peer) => Uint8Array | null {
    let id: string | null = null
    let frame: Uint8Array | null = null
    let others: Map<string, Uint8Array | null> | null = null
    return (peer) => {
      const encoder = peer.encoder
      if (id === null) {
        id = encoder.id
        frame = encoder.encode(message)
      }
      if (encoder.id === id) return frame
      others ??= new Map()
      let other = others.get(encoder.id)
      if (other === undefined) {
        other = encoder.encode(message)
        others.set(encoder.id, other)
      }
      return other
    }
  }
}

/** A state vector that knows no client: the joiner has nothing yet. */
function isEmptyStateVector(stateVector: Uint8Array): boolean {
  return stateVector.byteLength === 1 && stateVector[0] === 0
}

/** The update with no structs and no deletions, as Yjs encodes it (v1). */
function isEmptyUpdate(update: Uint8Array): boolean {
  return update.byteLength === 2 && update[0] === 0 && update[1] === 0
}
