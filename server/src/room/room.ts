import { type DocumentStore, DocumentDeletedError, type VersionInfo } from '@tandem/persistence/document-store'
import { mergeAll } from '@tandem/persistence/merge'
import type { OutboxRecord } from '@tandem/persistence/outbox'
import { isSharedStore } from '@tandem/persistence/shared-store'
import type { Logger } from 'pino'
import * as Y from 'yjs'
import type { Bus, InstanceId } from '../bus/bus.js'
import { CloseCode, reasonFor } from '../close-codes.js'
import type { Metrics } from '../metrics.js'
import type { Peer } from '../peer.js'
import type { AwarenessEntry, ClientMessage, ServerMessage } from '../protocol/messages.js'
import { ProtocolError } from '../protocol/messages.js'
import { addedTypeDepth, type DecodedUpdate, isContainedIn, MAX_TYPE_DEPTH } from '../protocol/update-shape.js'
import { decodeUpdate, writeAwarenessUpdate } from '../protocol/yjs-payloads.js'
import type { ChangeRecorder } from '../webhooks/webhooks.js'
import { broadcast, frameCache, send } from './frame-cache.js'
import { API_ORIGIN, type ChangeOrigin, LOAD_ORIGIN, type ReplicatedOrigin } from './origin.js'
import { RevisionTracker } from './revisions.js'
import { RoomPresence } from './room-presence.js'
import { VersionPolicy } from './version-policy.js'
import { type Batch, WritePipeline } from './write-pipeline.js'

export interface RoomOptions {
  readonly store: DocumentStore
  /** Where stored updates and local presence are published for the other instances. */
  readonly bus: Bus
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
  /** How long a write is retried while the store is unreachable (default 60 s); then the room closes. */
  readonly storeRetryMs?: number
  /** Which changes are recorded for webhooks, in the writes that store them. */
  readonly recorder?: ChangeRecorder
}

/** What a room starts from: the stored state, and its revision when the store is shared. */
export interface LoadedDocument {
  readonly state: Uint8Array | null
  readonly revision: number | null
}

/** A read-only client sending this many changes is closed (1008): it will never stop. */
const MAX_REFUSED_UPDATES = 20

const STORED: ServerMessage = { type: 'sync-status', applied: true }
const REFUSED: ServerMessage = { type: 'sync-status', applied: false }

/** A peer's own state in the room. */
interface PeerState {
  /** Updates it sent that its read-only token may not make. */
  refused: number
  readonly origin: ChangeOrigin
}

/**
 * One loaded document and everyone connected to it on this instance.
 *
 * Write before relay: an update is applied to the document at once, but relayed to the
 * other peers, and published to the other instances, only after the store has it. Updates
 * of one turn are merged into one store write and one relayed message. Sync replies wait
 * for the same write, so no peer ever sees content the store might not have. What other
 * instances stored arrives over the bus (or is read back from a shared store when the bus
 * dropped it) and is relayed to the peers here, never stored or published again.
 */
export class Room {
  readonly doc: Y.Doc
  readonly #store: DocumentStore
  readonly #logger: Logger
  readonly #options: RoomOptions
  readonly #peers = new Map<Peer, PeerState>()
  readonly #presence: RoomPresence
  readonly #pipeline: WritePipeline<Peer | null>
  readonly #versions: VersionPolicy
  /** Whether the store has the document (it was loaded, or a write of it stored). */
  #inStore: boolean
  /** With a shared store: which of the document's revisions this room has. */
  readonly #revisions: RevisionTracker | null
  /** The whole state, encoded, and its sync step 2 frames by encoder id; reset on change. */
  #fullState: Uint8Array | null = null
  #fullStateFrames = new Map<string, Uint8Array | null>()

  constructor(
    readonly name: string,
    loaded: LoadedDocument,
    options: RoomOptions,
  ) {
    this.doc = new Y.Doc({ gc: true })
    if (loaded.state !== null) Y.applyUpdate(this.doc, loaded.state, LOAD_ORIGIN)
    this.#inStore = loaded.state !== null
    this.#store = options.store
    this.#logger = options.logger
    this.#options = options
    const now = options.now ?? Date.now
    this.#presence = new RoomPresence(now, (removed) => this.#relayAwareness(removed, null))
    this.#revisions = loaded.revision === null ? null : new RevisionTracker(loaded.revision)
    this.#versions = new VersionPolicy({
      intervalMs: options.versionIntervalMs,
      now,
      save: () => this.saveVersion(null, null),
      logger: options.logger,
      document: name,
    })
    const store = options.store
    this.#pipeline = new WritePipeline<Peer | null>({
      write: isSharedStore(store)
        ? (merged, batch) => store.appendAt(name, [merged], this.#records(batch))
        : (merged, batch) => store.append(name, [merged], this.#records(batch)).then(() => null),
      stored: (batch, merged, revision) => this.#stored(batch, merged, revision),
      failed: (error, relaying) => this.#failed(error, relaying),
      retryForMs: options.storeRetryMs ?? 60_000,
      retrying: (error, delayMs) => this.#logger.warn(
        { err: error, document: name, delayMs },
        'the store is unreachable; the write is retried (nothing is acknowledged meanwhile)',
      ),
    })
  }

  /** Whether anything was ever written to the document (an empty room is just a meeting place). */
  get hasContent(): boolean {
    return this.doc.store.clients.size > 0
  }

  get peerCount(): number {
    return this.#peers.size
  }

  /** With a shared store, every revision of the document up to this one is applied here; else null. */
  get revision(): number | null {
    return this.#revisions?.seen ?? null
  }

  /** The names people here show in their presence (`user.name`), for the document list. */
  editors(): string[] {
    return this.#presence.editors()
  }

  /** Adds a peer and opens the sync handshake with it. */
  join(peer: Peer): void {
    if (this.#pipeline.failure !== undefined) {
      peer.close(CloseCode.internalError, reasonFor(CloseCode.internalError))
      return
    }
    this.#peers.set(peer, { refused: 0, origin: { type: 'client', peer } })
    send(peer, { type: 'sync-step-1', stateVector: Y.encodeStateVector(this.doc) })
    const present = this.#presence.current()
    if (present.length > 0) {
      send(peer, { type: 'awareness', update: writeAwarenessUpdate(present) })
    }
  }

  /** Removes a peer and its presence, here and on the other instances. */
  leave(peer: Peer): void {
    if (!this.#peers.delete(peer)) return
    const removed = this.#presence.leave(peer)
    if (removed !== null) {
      this.#relayAwareness(removed, peer)
      this.#options.bus.publish(this.name, { type: 'awareness', update: removed })
    }
    if (this.#peers.size === 0) this.#options.onEmpty(this)
  }

  /**
   * Removes presence states their clients stopped renewing (a client that vanished without
   * closing its socket, or a state relayed for someone gone); runs on a timer too.
   */
  expirePresence(): void {
    const removed = this.#presence.expire()
    if (removed !== null) this.#relayAwareness(removed, null)
  }

  /** Handles one decoded message from a peer that has joined. */
  receive(peer: Peer, message: ClientMessage): void {
    if (this.#pipeline.failure !== undefined) return
    const state = this.#peers.get(peer)
    if (state === undefined) return
    switch (message.type) {
      case 'sync-step-1': {
        // A joiner with nothing gets the whole state: encoded once and shared until the next
        // change, so a crowd joining a large document costs one copy, not one each.
        if (isEmptyStateVector(message.stateVector)) {
          this.#fullState ??= Y.encodeStateAsUpdate(this.doc)
          const state = this.#fullState
          const frames = this.#fullStateFrames
          this.#pipeline.afterDurable((error) => {
            if (error === undefined) this.#sendFullState(peer, state, frames)
          })
          break
        }
        const update = Y.encodeStateAsUpdate(this.doc, message.stateVector)
        this.#pipeline.afterDurable((error) => {
          if (error === undefined) send(peer, { type: 'sync-step-2', update })
        })
        break
      }
      case 'update':
        if (peer.canWrite) this.#apply(peer, state.origin, message.update, message.decoded)
        else this.#dropReadOnly(peer, state, message.update, message.decoded)
        break
      case 'awareness':
        this.#receiveAwareness(peer, message.update, message.entries)
        break
      case 'query-awareness':
        send(peer, { type: 'awareness', update: writeAwarenessUpdate(this.#presence.current()) })
        break
      case 'stateless':
        broadcast(this.#peers.keys(), { type: 'stateless', payload: message.payload }, peer)
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

  /**
   * Merges a Yjs update into the document on the server's behalf (for `editor`, an HTTP API
   * caller, when given); resolves once stored.
   */
  applyUpdate(update: Uint8Array, editor: string | null = null): Promise<void> {
    this.#assertUsable()
    this.#apply(null, API_ORIGIN, update, undefined, editor)
    return this.flush()
  }

  /**
   * Applies a change another instance stored (`bus`) or one read back from the shared store
   * (`load`), and relays to the peers here what it added. `revision` is where the store has it.
   * Returns whether the document changed.
   */
  applyReplicated(update: Uint8Array, origin: ReplicatedOrigin, revision: number | null = null): boolean {
    if (this.#pipeline.failure !== undefined) return false
    const added: Uint8Array[] = []
    const collect = (change: Uint8Array) => added.push(change)
    // Only while applying: a listener makes Yjs encode every transaction, clients' included.
    this.doc.on('update', collect)
    try {
      Y.applyUpdate(this.doc, update, origin)
    } finally {
      this.doc.off('update', collect)
    }
    if (revision !== null) this.#revisions?.mark(revision)
    // Stored by another instance: the document exists, and this room's writes update it.
    this.#inStore = true
    if (added.length === 0) return false
    this.#stateChanged()
    broadcast(this.#peers.keys(), { type: 'update', update: added.length === 1 ? added[0]! : mergeAll(added) }, null)
    return true
  }

  /**
   * With a shared store: applies what other instances stored that this room has not seen
   * (their bus messages may have been dropped). Nothing to do with a store of one instance.
   * Resolves with whether that changed the document.
   */
  async catchUp(): Promise<boolean> {
    const store = this.#store
    const revisions = this.#revisions
    if (revisions === null || !isSharedStore(store) || this.#pipeline.failure !== undefined) return false
    const { update, revision } = await store.changesSince(this.name, revisions.seen)
    const changed = update !== null && this.applyReplicated(update, LOAD_ORIGIN)
    revisions.reach(revision)
    return changed
  }

  /** Presence states another instance's clients set (published there), relayed to the peers here. */
  receiveRemoteAwareness(from: InstanceId, update: Uint8Array): void {
    const relayed = this.#presence.fromInstance(from, update)
    if (relayed !== null) this.#relayAwareness(relayed, null)
  }

  /** Another instance stopped: its clients leave everyone's presence here. */
  forgetInstance(instance: InstanceId): void {
    const removed = this.#presence.forgetInstance(instance)
    if (removed !== null) this.#relayAwareness(removed, null)
  }

  /** Publishes the presence of the clients here (asked by a newcomer, or after a bus outage). */
  publishPresence(): void {
    const local = this.#presence.statesOf(this.#peers.keys())
    if (local !== null) this.#options.bus.publish(this.name, { type: 'awareness', update: local })
  }

  /**
   * Saves the current state as a version, once everything applied so far is stored. A
   * `kept` version (a user labelled it) is never deleted by the version retention.
   */
  async saveVersion(
    label: string | null,
    author: string | null,
    { kept = false, announce = false }: { readonly kept?: boolean, readonly announce?: boolean } = {},
  ): Promise<VersionInfo> {
    await this.flush()
    this.#versions.taken()
    const state = Y.encodeStateAsUpdate(this.doc)
    const retention = this.#options.versionRetention
    // Someone saved it on purpose (not the automatic ones, nor those before a replace): webhooks hear of it.
    const editors = author === null ? [] : [author]
    const records = announce
      ? this.#options.recorder?.records('version.created', this.name, editors, { label })
      : undefined
    return this.#store.saveVersion(this.name, { label, author, state, kept }, { retention, records })
  }

  /** Resolves once every update applied so far is in the store. */
  flush(): Promise<void> {
    return this.#pipeline.flush()
  }

  /** Closes every peer; the room takes no more messages from them. */
  closePeers(code: CloseCode, reason = reasonFor(code)): void {
    for (const peer of [...this.#peers.keys()]) {
      this.#peers.delete(peer)
      peer.close(code, reason)
    }
  }

  destroy(): void {
    this.#presence.destroy()
    this.doc.destroy()
  }

  /**
   * Applies an update, unless it would nest types deeper than the conversions can hold
   * (ProtocolError, 1002: nothing applied). `decoded` is the codec's decoding, when it had one.
   */
  #apply(
    sender: Peer | null,
    origin: ChangeOrigin,
    update: Uint8Array,
    decoded?: DecodedUpdate,
    editor: string | null = null,
  ): void {
    // Clients answer sync step 1 with an empty update when they have nothing new:
    // nothing to store or relay, but the sender still waits for its acknowledgement.
    if (isEmptyUpdate(update)) {
      if (sender !== null) {
        this.#pipeline.afterDurable((error) => {
          if (error === undefined) send(sender, STORED)
        })
      }
      return
    }
    const depth = addedTypeDepth(this.doc, decoded ?? decodeUpdate(update))
    if (depth > MAX_TYPE_DEPTH) {
      throw new ProtocolError(`the update nests elements ${depth} deep; at most ${MAX_TYPE_DEPTH}`, CloseCode.protocolError)
    }
    this.#options.metrics.updates.inc()
    Y.applyUpdate(this.doc, update, origin)
    this.#enqueue(sender, update, editor)
  }

  /**
   * The webhook records a write of `batch` carries: `document.created` for the first write
   * of a document the store did not have, `document.updated` for the others, with who made
   * the changes (a client's token name, else the name its presence shows; an API caller).
   * Worked out once per write, and only when an endpoint wants to hear of this document.
   */
  #records(batch: Batch<Peer | null>): OutboxRecord[] | undefined {
    const recorder = this.#options.recorder
    if (recorder === undefined || !recorder.wants(this.name)) return undefined
    const editors = new Set(batch.editors)
    for (const peer of new Set(batch.senders)) {
      const name = peer === null ? null : peer.presenceName ?? this.#presence.nameOf(peer)
      if (name !== null) editors.add(name)
    }
    const type = this.#inStore ? 'document.updated' : 'document.created'
    return recorder.records(type, this.name, [...editors])
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
  #enqueue(sender: Peer | null, update: Uint8Array, editor: string | null = null): void {
    this.#stateChanged()
    this.#versions.changed()
    this.#pipeline.enqueue(sender, update, editor)
  }

  /** The document changed: the cached whole state is stale. */
  #stateChanged(): void {
    this.#fullState = null
    this.#fullStateFrames = new Map()
  }

  #dropReadOnly(peer: Peer, state: PeerState, update: Uint8Array, decoded?: DecodedUpdate): void {
    // What the document already has is acknowledged, so a read-only client that changed
    // nothing (its sync step 2) is not left waiting; only new content counts as dropped.
    if (isEmptyUpdate(update) || isContainedIn(this.doc, decoded ?? decodeUpdate(update))) {
      send(peer, STORED)
      return
    }
    this.#options.metrics.readOnlyUpdatesDropped.inc()
    this.#logger.debug({ document: this.name }, 'dropped an update from a read-only client')
    send(peer, REFUSED)
    if (++state.refused >= MAX_REFUSED_UPDATES) {
      throw new ProtocolError('a read-only token may not send changes', CloseCode.policyViolation)
    }
  }

  #receiveAwareness(peer: Peer, update: Uint8Array, entries: readonly AwarenessEntry[]): void {
    const relayed = this.#presence.fromClient(peer, update, entries)
    if (relayed === null) return
    this.#relayAwareness(relayed, peer)
    this.#options.bus.publish(this.name, { type: 'awareness', update: relayed })
  }

  #relayAwareness(update: Uint8Array, except: Peer | null): void {
    broadcast(this.#peers.keys(), { type: 'awareness', update }, except)
  }

  /** A batch is durable: relay it here, acknowledge it, publish it to the other instances. */
  #stored(batch: Batch<Peer | null>, merged: Uint8Array, revision: number | null): void {
    this.#inStore = true
    this.#relay(batch, merged)
    for (const sender of batch.senders) if (sender !== null) send(sender, STORED)
    this.#options.bus.publish(this.name, { type: 'update', update: merged, revision })
    if (revision !== null) this.#revisions?.mark(revision)
    this.#versions.maybeSave()
  }

  /** Sends a durable batch to every peer, leaving out what each peer sent itself. */
  #relay(batch: Batch<Peer | null>, merged: Uint8Array): void {
    const senders = new Set(batch.senders)
    if (senders.size === 1) {
      broadcast(this.#peers.keys(), { type: 'update', update: merged }, batch.senders[0] ?? null)
      return
    }
    const everything = frameCache({ type: 'update', update: merged })
    for (const peer of this.#peers.keys()) {
      if (!senders.has(peer)) {
        const frame = everything(peer)
        if (frame !== null) peer.send(frame)
        continue
      }
      const others = batch.updates.filter((_, index) => batch.senders[index] !== peer)
      send(peer, { type: 'update', update: mergeAll(others) })
    }
  }

  #assertUsable(): void {
    if (this.#pipeline.failure !== undefined) throw new Error(`document ${this.name} failed to store and is closing`)
  }

  /** Closes the document after a failed write, or a failure relaying a stored one. */
  #failed(error: unknown, relaying: boolean): void {
    this.#options.metrics.storeFailures.inc()
    const deleted = error instanceof DocumentDeletedError
    if (deleted) this.#logger.info({ document: this.name }, 'the document was deleted elsewhere; closing it')
    else {
      this.#logger.error(
        { err: error, document: this.name },
        relaying ? 'relaying a stored write failed; closing document' : 'store write failed; closing document',
      )
    }
    this.closePeers(deleted ? CloseCode.documentDeleted : CloseCode.internalError)
    this.#options.onFailed(this, error)
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
