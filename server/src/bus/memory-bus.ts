import type { Bus, BusEvents, BusListener, BusMessage, BusStatus, InstanceId } from './bus.js'
import { newInstanceId } from './bus.js'
import type { BusLogger } from './bus-listeners.js'
import { BusListeners } from './bus-listeners.js'

/** A member of a {@link MemoryHub}: a `Bus` that counts what it publishes. */
export interface MemoryBus extends Bus {
  /** Messages handed to the hub (one per `publish` while connected), for budget tests. */
  readonly published: number
}

/** Options of {@link MemoryHub.bus}. */
export interface MemoryBusOptions {
  readonly instance?: InstanceId
  readonly logger?: BusLogger
}

type MemberState = 'new' | 'open' | 'partitioned' | 'closed'

/**
 * An in-process medium between buses, for one process (the default single instance, where
 * a lone member publishes to nobody at no cost) and for unit tests that simulate a
 * cluster: `kill` an instance, `partition` one from the others and `heal` it.
 * Deliveries are asynchronous (a microtask), in publish order.
 */
export class MemoryHub {
  readonly #members = new Set<Member>()

  /** A new member of this hub; it takes part once opened. */
  bus(options: MemoryBusOptions = {}): MemoryBus {
    const member = new Member(this.#members, options.instance ?? newInstanceId(), options.logger)
    this.#members.add(member)
    return member
  }

  /** The instance dies without closing: it stops at once and the others get `instanceDown`. */
  kill(bus: MemoryBus): void {
    this.#member(bus).stop()
  }

  /** Cuts `bus` off: its publishes are dropped and it receives nothing until `heal`. */
  partition(bus: MemoryBus): void {
    this.#member(bus).partition()
  }

  /** Reconnects a partitioned `bus`, which then gets `resync`. */
  heal(bus: MemoryBus): void {
    this.#member(bus).heal()
  }

  #member(bus: MemoryBus): Member {
    if (!(bus instanceof Member) || !this.#members.has(bus)) throw new Error('the bus is not a member of this hub')
    return bus
  }
}

class Member implements MemoryBus {
  readonly instance: InstanceId
  readonly #hub: Set<Member>
  readonly #listeners: BusListeners
  #state: MemberState = 'new'
  #published = 0
  /** Instances that went down while this one was partitioned: it learns of them on heal. */
  readonly #missedDown = new Set<InstanceId>()

  constructor(hub: Set<Member>, instance: InstanceId, logger: BusLogger | undefined) {
    this.#hub = hub
    this.instance = instance
    this.#listeners = new BusListeners(logger)
  }

  get published(): number {
    return this.#published
  }

  async open(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`a ${this.#state} bus cannot be opened`)
    this.#state = 'open'
  }

  publish(document: string, message: BusMessage): void {
    if (this.#state !== 'open') return
    this.#published++
    let receivers: Member[] | undefined
    for (const member of this.#hub) {
      if (member !== this && member.#state === 'open' && member.#listeners.has(document)) {
        (receivers ??= []).push(member)
      }
    }
    if (receivers === undefined) return
    const from = this.instance
    queueMicrotask(() => {
      for (const receiver of receivers) {
        if (receiver.#state === 'open') receiver.#listeners.deliver(document, message, from)
      }
    })
  }

  subscribe(document: string, listener: BusListener, onActive?: () => void): () => void {
    const { remove } = this.#listeners.add(document, listener)
    let removed = false
    if (onActive !== undefined && this.#state === 'open') {
      queueMicrotask(() => {
        if (!removed) onActive()
      })
    }
    return () => {
      removed = true
      remove()
    }
  }

  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    this.#listeners.on(event, listener)
  }

  status(): BusStatus {
    switch (this.#state) {
      case 'open': return { ready: true }
      case 'new': return { ready: false, reason: 'the bus is not open yet' }
      case 'partitioned': return { ready: false, reason: 'the bus is cut off from its hub' }
      case 'closed': return { ready: false, reason: 'the bus is closed' }
    }
  }

  async close(): Promise<void> {
    this.stop()
  }

  stop(): void {
    if (this.#state === 'closed') return
    const wasMember = this.#state !== 'new'
    this.#state = 'closed'
    this.#hub.delete(this)
    if (!wasMember) return
    for (const member of this.#hub) member.#instanceDown(this.instance)
  }

  partition(): void {
    if (this.#state === 'open') this.#state = 'partitioned'
  }

  heal(): void {
    if (this.#state !== 'partitioned') return
    this.#state = 'open'
    const missed = [...this.#missedDown]
    this.#missedDown.clear()
    queueMicrotask(() => {
      if (this.#state !== 'open') return
      this.#listeners.emit('resync')
      for (const instance of missed) this.#listeners.emit('instanceDown', instance)
    })
  }

  #instanceDown(instance: InstanceId): void {
    if (this.#state === 'partitioned') this.#missedDown.add(instance)
    if (this.#state !== 'open') return
    queueMicrotask(() => {
      if (this.#state === 'open') this.#listeners.emit('instanceDown', instance)
      else if (this.#state === 'partitioned') this.#missedDown.add(instance)
    })
  }
}
