import type { InstanceId } from '../bus/bus.js'
import type { Peer } from '../peer.js'
import type { AwarenessEntry } from '../protocol/messages.js'
import { readAwarenessUpdate, writeAwarenessUpdate } from '../protocol/yjs-payloads.js'
import { Presence } from './presence.js'

/** How often states nobody renewed are looked for. */
const SWEEP_MS = 5_000

/** Another instance, as the owner of its clients' presence states here. */
interface RemoteInstance {
  readonly instance: InstanceId
}

/**
 * A room's presence: the states its own clients set (each owned by its peer, within the
 * per-connection limits) and those other instances relayed (owned by that instance, and
 * forgotten when it goes down). Each change returns the awareness update to relay, or null
 * when nothing changed; sending it is the room's.
 */
export class RoomPresence {
  readonly #presence: Presence<Peer | RemoteInstance>
  readonly #remotes = new Map<InstanceId, RemoteInstance>()
  readonly #expired: (update: Uint8Array) => void
  #sweep: NodeJS.Timeout | null = null

  /** `expired` gets the removals of states nobody renewed, found by a timer. */
  constructor(now: () => number, expired: (update: Uint8Array) => void) {
    this.#presence = new Presence(now)
    this.#expired = expired
  }

  /** Every client with a state, here or on another instance. */
  current(): AwarenessEntry[] {
    return this.#presence.current()
  }

  /** The names people show in their presence (`user.name`), for the document list. */
  editors(): string[] {
    const names: string[] = []
    for (const entry of this.#presence.current()) {
      const name = userName(entry.state!)
      if (name !== null) names.push(name)
    }
    return names
  }

  /** The name `peer` shows in its presence (`user.name`), or null. */
  nameOf(peer: Peer): string | null {
    for (const entry of this.#presence.statesOf([peer])) {
      const name = userName(entry.state!)
      if (name !== null) return name
    }
    return null
  }

  /**
   * A client here sent states (`update`, decoded as `entries`); throws a ProtocolError past
   * its limits. A peer whose token names it shows that name, whatever its states say.
   */
  fromClient(peer: Peer, update: Uint8Array, entries: readonly AwarenessEntry[]): Uint8Array | null {
    const name = peer.presenceName
    if (name === null) return this.#relayed(update, entries.length, this.#presence.apply(peer, entries))
    const named = entries.map((entry) => withName(entry, name))
    const changed = named.some((entry, index) => entry !== entries[index])
    return this.#relayed(changed ? null : update, entries.length, this.#presence.apply(peer, named))
  }

  /** Another instance relayed its clients' states; they were checked against the limits there. */
  fromInstance(instance: InstanceId, update: Uint8Array): Uint8Array | null {
    let owner = this.#remotes.get(instance)
    if (owner === undefined) this.#remotes.set(instance, (owner = { instance }))
    const entries = readAwarenessUpdate(update)
    return this.#relayed(update, entries.length, this.#presence.apply(owner, entries, { trusted: true }))
  }

  /** A client here left: its states are removed. */
  leave(peer: Peer): Uint8Array | null {
    return removal(this.#presence.leave(peer))
  }

  /** Another instance stopped: its clients' states are removed. */
  forgetInstance(instance: InstanceId): Uint8Array | null {
    const owner = this.#remotes.get(instance)
    if (owner === undefined) return null
    this.#remotes.delete(instance)
    return removal(this.#presence.leave(owner))
  }

  /** The states these clients show now, as one update (for another instance that asks). */
  statesOf(peers: Iterable<Peer>): Uint8Array | null {
    const states = this.#presence.statesOf(peers)
    return states.length === 0 ? null : writeAwarenessUpdate(states)
  }

  /** Removes the states nobody renewed for 30 s. */
  expire(): Uint8Array | null {
    return removal(this.#presence.expire())
  }

  destroy(): void {
    if (this.#sweep !== null) clearInterval(this.#sweep)
  }

  /**
   * What to relay of `update` (of `sent` entries; null when the entries applied differ from
   * it), `applied` of which changed something.
   */
  #relayed(update: Uint8Array | null, sent: number, applied: readonly AwarenessEntry[]): Uint8Array | null {
    if (applied.length === 0) return null
    this.#sweep ??= setInterval(() => {
      const removed = this.expire()
      if (removed !== null) this.#expired(removed)
    }, SWEEP_MS).unref()
    return applied.length === sent && update !== null ? update : writeAwarenessUpdate(applied)
  }
}

/**
 * `entry` showing `name` as its `user.name` (the same entry when it already does, or when
 * it has no state); the state's other fields, the user's colour included, stay as sent.
 * A state that is not an object (a client may set any JSON) becomes `{ user: { name } }`.
 */
function withName(entry: AwarenessEntry, name: string): AwarenessEntry {
  if (entry.state === null) return entry
  const parsed = JSON.parse(entry.state) as unknown
  const state = isObject(parsed) ? parsed : {}
  const user = isObject(state.user) ? state.user : {}
  if (user.name === name && parsed === state) return entry
  return { ...entry, state: JSON.stringify({ ...state, user: { ...user, name } }) }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The `user.name` of a state (JSON text, checked to parse when it arrived), or null. */
function userName(state: string): string | null {
  const name = (JSON.parse(state) as { user?: { name?: unknown } } | null)?.user?.name
  return typeof name === 'string' && name !== '' ? name : null
}

function removal(removed: AwarenessEntry[]): Uint8Array | null {
  return removed.length === 0 ? null : writeAwarenessUpdate(removed)
}
