import { randomBytes } from 'node:crypto'
import { StoreError } from './document-store.js'

/** What a webhook can be sent for. */
export const outboxEventTypes = [
  'document.created',
  'document.updated',
  'document.deleted',
  'version.created',
  'version.restored',
] as const
export type OutboxEventType = typeof outboxEventTypes[number]

/** Something that happened to a document, recorded in the same write as the change itself. */
export interface OutboxRecord {
  readonly type: OutboxEventType
  readonly document: string
  readonly at: Date
  /** Display names of who changed it. */
  readonly editors: readonly string[]
  readonly data?: Readonly<Record<string, unknown>>
}

/**
 * An event ready to be delivered: the `document.updated` records of one document coalesced
 * into one (`data.firstAt` and `data.lastAt` as ISO strings, the editors' union capped at
 * `EDITORS_LIMIT`), other events as recorded.
 */
export interface OutboxEvent {
  readonly id: string
  readonly type: OutboxEventType
  readonly document: string
  /** When it happened; the last coalesced record's time for `document.updated`. */
  readonly at: Date
  readonly editors: readonly string[]
  readonly data: Readonly<Record<string, unknown>>
}

/** Where webhooks go, and which. */
export interface WebhookEndpoint {
  id: string
  url: string
  events: OutboxEventType[]
  /** A glob of document names such as `team-*`; null for every document. */
  documents: string | null
  format: 'json' | 'html' | 'markdown' | 'text' | null
  secret: string
  createdAt: Date
  /** Set: none of its deliveries is claimed. */
  disabledAt: Date | null
  failingSince: Date | null
}

/** A delivery handed to one claimer for the length of its lease. */
export interface ClaimedDelivery {
  /** Stable across retries: the Standard Webhooks `webhook-id` (the sender adds its prefix). */
  id: string
  endpointId: string
  event: OutboxEvent
  /** Attempts made before this one. */
  attempts: number
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

/** A delivery as stored, for the deliveries list. */
export interface DeliveryInfo {
  id: string
  endpointId: string
  event: OutboxEvent
  status: DeliveryStatus
  /** Attempts made so far. */
  attempts: number
  lastAttemptAt: Date | null
  lastStatus: number | null
  lastError: string | null
  /** When it is due (or its lease ends); null once settled for good. */
  nextAttemptAt: Date | null
  createdAt: Date
}

/** How one attempt went. */
export interface AttemptResult {
  at: Date
  ok: boolean
  status: number | null
  error: string | null
  /** When to try again; null gives up (status `failed`). Ignored when `ok`. */
  nextAttemptAt: Date | null
}

/** When a pending `document.updated` marker is due. */
export interface UpdateDue {
  /** Due once no record came for this long (2 s for Tandem). */
  readonly quietMs: number
  /** Due once its first record is this old, even while records keep coming (10 s for Tandem). */
  readonly maxWaitMs: number
}

/**
 * The webhook outbox of a store: events recorded in the same write as the changes they tell
 * of, turned into one delivery per endpoint, claimed by one dispatcher at a time.
 * Implementations run `describeOutbox` in `outbox-contract.ts`.
 */
export interface Outbox {
  /** Inserts the endpoint, or replaces the one with its id. */
  saveEndpoint(endpoint: WebhookEndpoint): Promise<void>
  /** Every endpoint, oldest first. */
  listEndpoints(): Promise<WebhookEndpoint[]>
  /** Deletes the endpoint and its deliveries; false when there was none. */
  deleteEndpoint(id: string): Promise<boolean>
  /** Records events without any document write (the change was written elsewhere). */
  record(records: readonly OutboxRecord[]): Promise<void>
  /**
   * Turns recorded events and the due `document.updated` markers into deliveries, one per
   * endpoint id `route(event)` returns (none drops the event), each event in one atomic
   * write that also removes it. A record that arrives while its marker is promoted is kept
   * (in a new marker). At most `limit` events (100 when absent); resolves with how many.
   * Promoters on several instances never promote one event twice.
   */
  promote(
    now: Date,
    due: UpdateDue,
    route: (event: OutboxEvent) => readonly string[],
    limit?: number,
  ): Promise<number>
  /**
   * Claims up to `limit` pending deliveries due by `now`, soonest due first, hiding them
   * from other claimers for `leaseMs` (their next attempt moves to now + lease): a claimer
   * that dies leaves them to the next after the lease. Deliveries of disabled endpoints
   * are not claimed. Claimers on several instances never hold one delivery at once.
   */
  claim(now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]>
  /**
   * Records an attempt (counted in `attempts`): ok makes the delivery `delivered`; a failure
   * leaves it pending until `nextAttemptAt`, or `failed` when that is null. Keeps the newest
   * `SETTLED_KEPT` settled deliveries of its endpoint. An unknown id is ignored.
   */
  settle(deliveryId: string, result: AttemptResult): Promise<void>
  /** The endpoint's deliveries, newest first, at most `limit`. */
  listDeliveries(endpointId: string, limit: number): Promise<DeliveryInfo[]>
  /**
   * Makes a delivery of that endpoint pending again, due at `now` (a failed or delivered one
   * is sent again, a pending one sooner); false when the endpoint has no such delivery.
   */
  retryDelivery(endpointId: string, deliveryId: string, now: Date): Promise<boolean>
  /**
   * Makes every pending delivery of the endpoint due at `now` (it was enabled again after
   * failing: what waited goes out at once, not at its backed-off time); resolves with how many.
   */
  resume(endpointId: string, now: Date): Promise<number>
  /** Pending deliveries, and recorded events and markers not promoted yet: the queue depth. */
  depth(): Promise<number>
}

/** A `document.updated` marker holds at most this many editors' names. */
export const EDITORS_LIMIT = 20
/** Settled (delivered or failed) deliveries kept per endpoint, for its deliveries list. */
export const SETTLED_KEPT = 100
/** `promote` promotes at most this many events when no limit is given. */
export const PROMOTE_LIMIT = 100

/** The pending `document.updated` records of one document, coalesced. */
export interface UpdateMarker {
  readonly document: string
  readonly firstAt: Date
  readonly lastAt: Date
  readonly editors: readonly string[]
  readonly data: Readonly<Record<string, unknown>>
}

/** Throws a StoreError naming a record whose type is not an event type. */
export function checkRecords(records: readonly OutboxRecord[]): void {
  for (const record of records) {
    if (!(outboxEventTypes as readonly string[]).includes(record.type)) {
      throw new StoreError(`record ${record.document}: unknown event type ${JSON.stringify(record.type)}`)
    }
  }
}

/**
 * The records of an append to a document that existed already: `document.created` becomes
 * `document.updated` (two instances may each take their first write for the document's).
 */
export function asUpdates(records: readonly OutboxRecord[]): OutboxRecord[] {
  return records.map((record) => (record.type === 'document.created' ? { ...record, type: 'document.updated' } : record))
}

/** Records saved with a version, telling which: `data.version` is its id. */
export function ofVersion(records: readonly OutboxRecord[], id: string): OutboxRecord[] {
  return records.map((record) => ({ ...record, data: { ...record.data, version: id } }))
}

/** The marker after `record` (a `document.updated` record of its document) joined it. */
export function withRecord(marker: UpdateMarker | undefined, record: OutboxRecord): UpdateMarker {
  if (marker === undefined) {
    return {
      document: record.document,
      firstAt: record.at,
      lastAt: record.at,
      editors: unionOfEditors([], record.editors),
      data: { ...record.data },
    }
  }
  return {
    document: marker.document,
    firstAt: record.at < marker.firstAt ? record.at : marker.firstAt,
    lastAt: record.at > marker.lastAt ? record.at : marker.lastAt,
    editors: unionOfEditors(marker.editors, record.editors),
    data: { ...marker.data, ...record.data },
  }
}

/** Both lists' names, each once, in the order they came, at most `EDITORS_LIMIT`. */
export function unionOfEditors(first: readonly string[], second: readonly string[]): string[] {
  return [...new Set([...first, ...second])].slice(0, EDITORS_LIMIT)
}

/** Whether a marker is due at `now`: quiet for `quietMs`, or waiting for `maxWaitMs`. */
export function isDue(marker: UpdateMarker, now: Date, due: UpdateDue): boolean {
  return now.getTime() - marker.lastAt.getTime() >= due.quietMs
    || now.getTime() - marker.firstAt.getTime() >= due.maxWaitMs
}

/** The event a marker is delivered as, under a new id. */
export function markerEvent(marker: UpdateMarker): OutboxEvent {
  return {
    id: newOutboxId(),
    type: 'document.updated',
    document: marker.document,
    at: marker.lastAt,
    editors: marker.editors,
    data: { ...marker.data, firstAt: marker.firstAt.toISOString(), lastAt: marker.lastAt.toISOString() },
  }
}

/** The event a record other than `document.updated` is stored as, under a new id. */
export function recordEvent(record: OutboxRecord): OutboxEvent {
  return {
    id: newOutboxId(),
    type: record.type,
    document: record.document,
    at: record.at,
    editors: [...record.editors],
    data: { ...record.data },
  }
}

/** A new pending delivery of `event` to an endpoint, due at once. */
export function newDelivery(endpointId: string, event: OutboxEvent, now: Date): DeliveryInfo {
  return {
    id: newOutboxId(),
    endpointId,
    event,
    status: 'pending',
    attempts: 0,
    lastAttemptAt: null,
    lastStatus: null,
    lastError: null,
    nextAttemptAt: now,
    createdAt: now,
  }
}

/** A delivery after an attempt. */
export function settled(delivery: DeliveryInfo, result: AttemptResult): DeliveryInfo {
  const status: DeliveryStatus = result.ok ? 'delivered' : result.nextAttemptAt === null ? 'failed' : 'pending'
  return {
    ...delivery,
    status,
    attempts: delivery.attempts + 1,
    lastAttemptAt: result.at,
    lastStatus: result.status,
    lastError: result.error,
    nextAttemptAt: status === 'pending' ? result.nextAttemptAt : null,
  }
}

/** The settled deliveries past the newest `SETTLED_KEPT` of `deliveries` (one endpoint's, any order). */
export function settledPastLimit<T extends Pick<DeliveryInfo, 'id' | 'status'>>(deliveries: readonly T[]): T[] {
  return deliveries
    .filter((delivery) => delivery.status !== 'pending')
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(SETTLED_KEPT)
}

let lastIdTime = 0

/**
 * A new event or delivery id: creation time in base 36 (bumped past the last one, so ids
 * made here sort by creation), then 48 random bits, so instances never make the same one.
 */
export function newOutboxId(): string {
  const now = Math.max(Date.now(), lastIdTime + 1)
  lastIdTime = now
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`
}
