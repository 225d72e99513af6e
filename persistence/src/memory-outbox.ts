import type {
  AttemptResult,
  ClaimedDelivery,
  DeliveryInfo,
  Outbox,
  OutboxEvent,
  OutboxRecord,
  UpdateDue,
  UpdateMarker,
  WebhookEndpoint,
} from './outbox.js'
import {
  checkRecords,
  isDue,
  markerEvent,
  newDelivery,
  PROMOTE_LIMIT,
  recordEvent,
  settled,
  settledPastLimit,
  withRecord,
} from './outbox.js'

/**
 * An outbox in process memory, for memory stores (shared by the `SharedMemoryStore`s of one
 * storage). Every operation runs in one turn of the event loop, so each is atomic.
 */
export class MemoryOutbox implements Outbox {
  readonly #endpoints = new Map<string, WebhookEndpoint>()
  readonly #markers = new Map<string, UpdateMarker>()
  /** Recorded events by id, in id order (ids sort by creation). */
  readonly #events = new Map<string, OutboxEvent>()
  readonly #deliveries = new Map<string, DeliveryInfo>()

  async saveEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    this.#endpoints.set(endpoint.id, { ...endpoint, events: [...endpoint.events] })
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    return [...this.#endpoints.values()]
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((endpoint) => ({ ...endpoint, events: [...endpoint.events] }))
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    if (!this.#endpoints.delete(id)) return false
    for (const delivery of this.#deliveries.values()) {
      if (delivery.endpointId === id) this.#deliveries.delete(delivery.id)
    }
    return true
  }

  async record(records: readonly OutboxRecord[]): Promise<void> {
    this.recordNow(records)
  }

  /** `record` in this turn, for a store that writes the change in the same turn. */
  recordNow(records: readonly OutboxRecord[]): void {
    checkRecords(records)
    for (const record of records) {
      if (record.type === 'document.updated') {
        this.#markers.set(record.document, withRecord(this.#markers.get(record.document), record))
      } else {
        const event = recordEvent(record)
        this.#events.set(event.id, event)
      }
    }
  }

  async promote(
    now: Date,
    due: UpdateDue,
    route: (event: OutboxEvent) => readonly string[],
    limit = PROMOTE_LIMIT,
  ): Promise<number> {
    let promoted = 0
    for (const event of [...this.#events.values()]) {
      if (promoted >= limit) return promoted
      this.#deliver(event, now, route)
      this.#events.delete(event.id)
      promoted += 1
    }
    const dueMarkers = [...this.#markers.values()]
      .filter((marker) => isDue(marker, now, due))
      .sort((a, b) => a.firstAt.getTime() - b.firstAt.getTime())
    for (const marker of dueMarkers) {
      if (promoted >= limit) return promoted
      this.#deliver(markerEvent(marker), now, route)
      this.#markers.delete(marker.document)
      promoted += 1
    }
    return promoted
  }

  async claim(now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const claimable = [...this.#deliveries.values()]
      .filter((delivery) => delivery.status === 'pending'
        && delivery.nextAttemptAt !== null
        && delivery.nextAttemptAt <= now
        && this.#endpoints.get(delivery.endpointId)?.disabledAt === null)
      .sort(soonestDue)
      .slice(0, limit)
    const leaseEnd = new Date(now.getTime() + leaseMs)
    return claimable.map((delivery) => {
      this.#deliveries.set(delivery.id, { ...delivery, nextAttemptAt: leaseEnd })
      const { id, endpointId, event, attempts } = delivery
      return { id, endpointId, event, attempts }
    })
  }

  async settle(deliveryId: string, result: AttemptResult): Promise<void> {
    const delivery = this.#deliveries.get(deliveryId)
    if (delivery === undefined) return
    this.#deliveries.set(deliveryId, settled(delivery, result))
    const ofEndpoint = [...this.#deliveries.values()]
      .filter((other) => other.endpointId === delivery.endpointId)
    for (const past of settledPastLimit(ofEndpoint)) this.#deliveries.delete(past.id)
  }

  async listDeliveries(endpointId: string, limit: number): Promise<DeliveryInfo[]> {
    return [...this.#deliveries.values()]
      .filter((delivery) => delivery.endpointId === endpointId)
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, limit)
  }

  async retryDelivery(endpointId: string, deliveryId: string, now: Date): Promise<boolean> {
    const delivery = this.#deliveries.get(deliveryId)
    if (delivery === undefined || delivery.endpointId !== endpointId) return false
    this.#deliveries.set(deliveryId, { ...delivery, status: 'pending', nextAttemptAt: now })
    return true
  }

  async resume(endpointId: string, now: Date): Promise<number> {
    let resumed = 0
    for (const delivery of this.#deliveries.values()) {
      if (delivery.endpointId !== endpointId || delivery.status !== 'pending') continue
      this.#deliveries.set(delivery.id, { ...delivery, nextAttemptAt: now })
      resumed += 1
    }
    return resumed
  }

  async depth(): Promise<number> {
    let pending = 0
    for (const delivery of this.#deliveries.values()) if (delivery.status === 'pending') pending += 1
    return pending + this.#events.size + this.#markers.size
  }

  #deliver(event: OutboxEvent, now: Date, route: (event: OutboxEvent) => readonly string[]): void {
    for (const endpointId of new Set(route(event))) {
      if (!this.#endpoints.has(endpointId)) continue
      const delivery = newDelivery(endpointId, event, now)
      this.#deliveries.set(delivery.id, delivery)
    }
  }
}

/** Orders deliveries by when they are due, then by id (creation). */
function soonestDue(a: DeliveryInfo, b: DeliveryInfo): number {
  const byTime = (a.nextAttemptAt?.getTime() ?? 0) - (b.nextAttemptAt?.getTime() ?? 0)
  return byTime !== 0 ? byTime : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
