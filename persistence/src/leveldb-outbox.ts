import type { Key, Level, Operation, Range } from './leveldb-store.js'
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

/** How the outbox reaches its store's database: through the store's write lane, or beside it. */
export interface LevelDbLanes {
  /** Runs `body` in the store's write lane (after every write queued before it). */
  write<T>(operation: string, body: (db: Level) => Promise<T>): Promise<T>
  /** Runs a read now, on LevelDB's snapshot. */
  read<T>(operation: string, body: (db: Level) => Promise<T>): Promise<T>
  /** fsync each outbox write. */
  readonly sync: boolean
}

// Every outbox key starts with this, outside y-leveldb's prefixes ('v1', 'v1_sv'), the
// tombstones ('tandem_deleted') and the canary ('tandem_canary').
const OUTBOX = 'tandem_outbox'
const endpointKey = (id: string): Key => [OUTBOX, 'endpoint', id]
const markerKey = (document: string): Key => [OUTBOX, 'marker', document]
const eventKey = (id: string): Key => [OUTBOX, 'event', id]
const deliveryKey = (id: string): Key => [OUTBOX, 'delivery', id]
// Indexes with empty values: an endpoint's deliveries, by id; pending deliveries, by when due.
const byEndpointKey = (endpointId: string, id: string): Key => [OUTBOX, 'endpoint_delivery', endpointId, id]
const dueKey = (next: Date, id: string): Key => [OUTBOX, 'due', sortableTime(next), id]
const EMPTY = new Uint8Array(0)

/**
 * Every key that starts with `prefix`: a number sorts after every string in a key's next
 * element (y-leveldb encodes the type first), the same bound `updatesRange` uses.
 */
function under(...prefix: Array<string | number>): Range {
  return { gte: prefix, lt: [...prefix, 0xFFFF_FFFF] }
}

/**
 * The webhook outbox of a `LevelDbStore`, in the same LevelDB, under the `tandem_outbox`
 * keys. Every write runs in the store's write lane, so reading a marker and writing it back
 * is never interleaved with an append's record for it; an append's records go in the
 * append's own batch (`operationsFor`). One process owns a LevelDB directory, so a claim
 * only has to hide deliveries from the next claim of this process.
 */
export class LevelDbOutbox implements Outbox {
  readonly #lanes: LevelDbLanes

  constructor(lanes: LevelDbLanes) {
    this.#lanes = lanes
  }

  /**
   * The operations that store `records` (checked with `checkRecords`), for the caller's
   * batch. Reads markers: call it in the write lane, and write the batch in the same run.
   */
  async operationsFor(db: Level, records: readonly OutboxRecord[]): Promise<Operation[]> {
    const operations: Operation[] = []
    const markers = new Map<string, UpdateMarker | undefined>()
    const updated = [...new Set(records.filter(isUpdate).map((record) => record.document))]
    const stored = updated.length === 0 ? [] : await db.getMany(updated.map(markerKey))
    updated.forEach((document, index) => markers.set(document, decodeOptional(stored[index], toMarker)))
    for (const record of records) {
      if (isUpdate(record)) {
        markers.set(record.document, withRecord(markers.get(record.document), record))
      } else {
        const event = recordEvent(record)
        operations.push({ type: 'put', key: eventKey(event.id), value: encode(fromEvent(event)) })
      }
    }
    for (const marker of markers.values()) {
      operations.push({ type: 'put', key: markerKey(marker!.document), value: encode(fromMarker(marker!)) })
    }
    return operations
  }

  saveEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    return this.#write('save endpoint', async (db) => {
      await db.batch([{ type: 'put', key: endpointKey(endpoint.id), value: encode(fromEndpoint(endpoint)) }], this.#options)
    })
  }

  listEndpoints(): Promise<WebhookEndpoint[]> {
    return this.#lanes.read('list endpoints', async (db) => {
      const endpoints = (await db.values(under(OUTBOX, 'endpoint')).all()).map((value) => toEndpoint(decode(value)))
      return endpoints.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    })
  }

  deleteEndpoint(id: string): Promise<boolean> {
    return this.#write('delete endpoint', async (db) => {
      const [stored] = await db.getMany([endpointKey(id)])
      if (stored === undefined) return false
      const deliveries = await this.#deliveriesOf(db, id)
      await db.batch([
        { type: 'del', key: endpointKey(id) },
        ...deliveries.flatMap((delivery) => forgetDelivery(delivery)),
      ], this.#options)
      return true
    })
  }

  async record(records: readonly OutboxRecord[]): Promise<void> {
    checkRecords(records)
    if (records.length === 0) return
    await this.#write('record', async (db) => {
      await db.batch(await this.operationsFor(db, records), this.#options)
    })
  }

  async promote(
    now: Date,
    due: UpdateDue,
    route: (event: OutboxEvent) => readonly string[],
    limit = PROMOTE_LIMIT,
  ): Promise<number> {
    let promoted = 0
    // One write per event, each in its own run of the lane, so appends go on in between.
    while (promoted < limit && await this.#write('promote', (db) => this.#promoteOne(db, now, due, route))) {
      promoted += 1
    }
    return promoted
  }

  async #promoteOne(
    db: Level,
    now: Date,
    due: UpdateDue,
    route: (event: OutboxEvent) => readonly string[],
  ): Promise<boolean> {
    let event: OutboxEvent
    let removal: Key
    const [firstEvent] = await db.values({ ...under(OUTBOX, 'event'), limit: 1 }).all()
    if (firstEvent !== undefined) {
      event = toEvent(decode(firstEvent))
      removal = eventKey(event.id)
    } else {
      const marker = (await db.values(under(OUTBOX, 'marker')).all())
        .map((value) => toMarker(decode(value)))
        .filter((candidate) => isDue(candidate, now, due))
        .sort((a, b) => a.firstAt.getTime() - b.firstAt.getTime())[0]
      if (marker === undefined) return false
      event = markerEvent(marker)
      removal = markerKey(marker.document)
    }
    const routed = [...new Set(route(event))]
    const endpoints = routed.length === 0 ? [] : await db.getMany(routed.map(endpointKey))
    const operations: Operation[] = [{ type: 'del', key: removal }]
    routed.forEach((endpointId, index) => {
      if (endpoints[index] === undefined) return
      operations.push(...putDelivery(newDelivery(endpointId, event, now)))
    })
    await db.batch(operations, this.#options)
    return true
  }

  claim(now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    return this.#write('claim', async (db) => {
      const dueKeys = await db.keys({ gte: [OUTBOX, 'due'], lt: [OUTBOX, 'due', sortableTime(new Date(now.getTime() + 1))] }).all()
      const enabled = new Map<string, boolean>()
      const claimed: DeliveryInfo[] = []
      const leaseEnd = new Date(now.getTime() + leaseMs)
      const operations: Operation[] = []
      // A page at a time, as deliveries of disabled endpoints are passed over.
      for (let start = 0; start < dueKeys.length && claimed.length < limit; start += limit) {
        const ids = dueKeys.slice(start, start + limit).map((key) => key[3] as string)
        const deliveries = await db.getMany(ids.map(deliveryKey))
        for (const value of deliveries) {
          if (value === undefined || claimed.length >= limit) continue
          const delivery = toDelivery(decode(value))
          if (!enabled.has(delivery.endpointId)) {
            const [endpoint] = await db.getMany([endpointKey(delivery.endpointId)])
            const disabled = endpoint === undefined || toEndpoint(decode(endpoint)).disabledAt !== null
            enabled.set(delivery.endpointId, !disabled)
          }
          if (!enabled.get(delivery.endpointId)) continue
          claimed.push(delivery)
          operations.push({ type: 'del', key: dueKey(delivery.nextAttemptAt!, delivery.id) })
          operations.push(...putDelivery({ ...delivery, nextAttemptAt: leaseEnd }))
        }
      }
      if (operations.length > 0) await db.batch(operations, this.#options)
      return claimed.map((delivery) => ({
        id: delivery.id,
        endpointId: delivery.endpointId,
        event: delivery.event,
        attempts: delivery.attempts,
      }))
    })
  }

  settle(deliveryId: string, result: AttemptResult): Promise<void> {
    return this.#write('settle', async (db) => {
      const [stored] = await db.getMany([deliveryKey(deliveryId)])
      if (stored === undefined) return
      const delivery = toDelivery(decode(stored))
      const after = settled(delivery, result)
      const operations: Operation[] = [...unscheduled(delivery), ...putDelivery(after)]
      const ofEndpoint = (await this.#deliveriesOf(db, delivery.endpointId))
        .map((other) => (other.id === after.id ? after : other))
      for (const past of settledPastLimit(ofEndpoint)) operations.push(...forgetDelivery(past))
      await db.batch(operations, this.#options)
    })
  }

  listDeliveries(endpointId: string, limit: number): Promise<DeliveryInfo[]> {
    return this.#lanes.read('list deliveries of', async (db) => {
      const keys = await db.keys({ ...under(OUTBOX, 'endpoint_delivery', endpointId), reverse: true, limit }).all()
      return readDeliveries(db, keys)
    })
  }

  retryDelivery(endpointId: string, deliveryId: string, now: Date): Promise<boolean> {
    return this.#write('retry delivery', async (db) => {
      const [stored] = await db.getMany([deliveryKey(deliveryId)])
      if (stored === undefined) return false
      const delivery = toDelivery(decode(stored))
      if (delivery.endpointId !== endpointId) return false
      await db.batch([
        ...unscheduled(delivery),
        ...putDelivery({ ...delivery, status: 'pending', nextAttemptAt: now }),
      ], this.#options)
      return true
    })
  }

  resume(endpointId: string, now: Date): Promise<number> {
    return this.#write('resume deliveries of', async (db) => {
      const keys = await db.keys(under(OUTBOX, 'endpoint_delivery', endpointId)).all()
      const pending = (await readDeliveries(db, keys)).filter((delivery) => delivery.status === 'pending')
      if (pending.length === 0) return 0
      await db.batch(pending.flatMap((delivery) => [
        ...unscheduled(delivery),
        ...putDelivery({ ...delivery, nextAttemptAt: now }),
      ]), this.#options)
      return pending.length
    })
  }

  depth(): Promise<number> {
    return this.#lanes.read('measure', async (db) => {
      const counts = await Promise.all(['due', 'event', 'marker'].map((kind) => db.keys(under(OUTBOX, kind)).all()))
      return counts.reduce((sum, keys) => sum + keys.length, 0)
    })
  }

  get #options(): { sync: boolean } {
    return { sync: this.#lanes.sync }
  }

  #write<T>(operation: string, body: (db: Level) => Promise<T>): Promise<T> {
    return this.#lanes.write(operation, body)
  }

  async #deliveriesOf(db: Level, endpointId: string): Promise<DeliveryInfo[]> {
    return readDeliveries(db, await db.keys(under(OUTBOX, 'endpoint_delivery', endpointId)).all())
  }
}

/** The deliveries that keys of the endpoint index name. */
async function readDeliveries(db: Level, keys: readonly Key[]): Promise<DeliveryInfo[]> {
  if (keys.length === 0) return []
  const values = await db.getMany(keys.map((key) => deliveryKey(key[3] as string)))
  return values.flatMap((value) => (value === undefined ? [] : [toDelivery(decode(value))]))
}

function isUpdate(record: OutboxRecord): boolean {
  return record.type === 'document.updated'
}

/** Writes a delivery with its index entries (the due one while pending). */
function putDelivery(delivery: DeliveryInfo): Operation[] {
  const operations: Operation[] = [
    { type: 'put', key: deliveryKey(delivery.id), value: encode(fromDelivery(delivery)) },
    { type: 'put', key: byEndpointKey(delivery.endpointId, delivery.id), value: EMPTY },
  ]
  if (delivery.status === 'pending' && delivery.nextAttemptAt !== null) {
    operations.push({ type: 'put', key: dueKey(delivery.nextAttemptAt, delivery.id), value: EMPTY })
  }
  return operations
}

/** Removes a pending delivery's due entry (none for a settled one). */
function unscheduled(delivery: DeliveryInfo): Operation[] {
  return delivery.status === 'pending' && delivery.nextAttemptAt !== null
    ? [{ type: 'del', key: dueKey(delivery.nextAttemptAt, delivery.id) }]
    : []
}

function forgetDelivery(delivery: DeliveryInfo): Operation[] {
  return [
    ...unscheduled(delivery),
    { type: 'del', key: deliveryKey(delivery.id) },
    { type: 'del', key: byEndpointKey(delivery.endpointId, delivery.id) },
  ]
}

/** Milliseconds as a fixed-width string, so keys sort by time (y-leveldb numbers are 32-bit). */
function sortableTime(date: Date): string {
  return String(Math.max(0, date.getTime())).padStart(15, '0')
}

// Values are JSON, dates as milliseconds.
type Json = Record<string, unknown>

function encode(value: Json): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

function decode(value: Uint8Array): Json {
  return JSON.parse(new TextDecoder().decode(value)) as Json
}

function decodeOptional<T>(value: Uint8Array | undefined, read: (json: Json) => T): T | undefined {
  return value === undefined ? undefined : read(decode(value))
}

const time = (date: Date | null): number | null => (date === null ? null : date.getTime())
const date = (ms: unknown): Date | null => (ms === null || ms === undefined ? null : new Date(ms as number))

function fromEndpoint(endpoint: WebhookEndpoint): Json {
  return {
    ...endpoint,
    createdAt: endpoint.createdAt.getTime(),
    disabledAt: time(endpoint.disabledAt),
    failingSince: time(endpoint.failingSince),
  }
}

function toEndpoint(json: Json): WebhookEndpoint {
  return {
    ...(json as unknown as WebhookEndpoint),
    createdAt: date(json.createdAt)!,
    disabledAt: date(json.disabledAt),
    failingSince: date(json.failingSince),
  }
}

function fromMarker(marker: UpdateMarker): Json {
  return { ...marker, firstAt: marker.firstAt.getTime(), lastAt: marker.lastAt.getTime() }
}

function toMarker(json: Json): UpdateMarker {
  return { ...(json as unknown as UpdateMarker), firstAt: date(json.firstAt)!, lastAt: date(json.lastAt)! }
}

function fromEvent(event: OutboxEvent): Json {
  return { ...event, at: event.at.getTime() }
}

function toEvent(json: Json): OutboxEvent {
  return { ...(json as unknown as OutboxEvent), at: date(json.at)! }
}

function fromDelivery(delivery: DeliveryInfo): Json {
  return {
    ...delivery,
    event: fromEvent(delivery.event),
    lastAttemptAt: time(delivery.lastAttemptAt),
    nextAttemptAt: time(delivery.nextAttemptAt),
    createdAt: delivery.createdAt.getTime(),
  }
}

function toDelivery(json: Json): DeliveryInfo {
  return {
    ...(json as unknown as DeliveryInfo),
    event: toEvent(json.event as Json),
    lastAttemptAt: date(json.lastAttemptAt),
    nextAttemptAt: date(json.nextAttemptAt),
    createdAt: date(json.createdAt)!,
  }
}
