import type pg from 'pg'
import type { PoolClient } from 'pg'
import type {
  AttemptResult,
  ClaimedDelivery,
  DeliveryInfo,
  DeliveryStatus,
  Outbox,
  OutboxEvent,
  OutboxEventType,
  OutboxRecord,
  UpdateDue,
  WebhookEndpoint,
} from './outbox.js'
import {
  checkRecords,
  EDITORS_LIMIT,
  markerEvent,
  newOutboxId,
  PROMOTE_LIMIT,
  recordEvent,
  settled,
  SETTLED_KEPT,
  unionOfEditors,
} from './outbox.js'

/** How the outbox reaches its store's pool, with the store's error handling and close tracking. */
export interface PostgresAccess {
  /** A read, or a write of one statement (tracked, so close waits for it). */
  query<T>(operation: string, work: (pool: pg.Pool) => Promise<T>, write: boolean): Promise<T>
  /** Work in one transaction, committed when it resolves (tracked as a write). */
  transaction<T>(operation: string, work: (client: PoolClient) => Promise<T>): Promise<T>
}

// Merges a document.updated record into its document's marker. A marker a promoter holds
// locked makes this wait; once the promoter deleted it, ON CONFLICT finds no row and
// inserts a new marker, so no record is lost to a promotion.
const UPSERT_MARKER = `
INSERT INTO outbox_markers AS m (document, first_at, last_at, editors, data)
VALUES ($1, $2, $2, $3::text[], $4::jsonb)
ON CONFLICT (document) DO UPDATE SET
  first_at = least(m.first_at, EXCLUDED.first_at),
  last_at = greatest(m.last_at, EXCLUDED.last_at),
  editors = ARRAY(
    SELECT editor FROM unnest(m.editors || EXCLUDED.editors) WITH ORDINALITY AS e(editor, position)
    GROUP BY editor ORDER BY min(position) LIMIT $5
  ),
  data = m.data || EXCLUDED.data`

// The oldest recorded event no other promoter holds.
const NEXT_EVENT = `
SELECT id, type, document, at, editors, data FROM outbox_events
ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`

// The due marker waiting longest that no other promoter (and no writer) holds.
const NEXT_MARKER = `
SELECT document, first_at, last_at, editors, data FROM outbox_markers
WHERE last_at <= $1 OR first_at <= $2
ORDER BY first_at LIMIT 1 FOR UPDATE SKIP LOCKED`

// Deliveries for the routed endpoints that still exist.
const INSERT_DELIVERIES = `
INSERT INTO webhook_deliveries (id, endpoint_id, event, status, attempts, next_attempt_at, created_at)
SELECT d.id, d.endpoint_id, $3::jsonb, 'pending', 0, $4, $4
FROM unnest($1::text[], $2::text[]) AS d(id, endpoint_id)
JOIN webhook_endpoints e ON e.id = d.endpoint_id`

// Soonest due first; rows another claimer holds are skipped, and a row claimed and committed
// meanwhile is rechecked against the WHERE clause (its new next_attempt_at is in the future).
const CLAIM = `
UPDATE webhook_deliveries d SET next_attempt_at = $2
FROM (
  SELECT c.id, c.next_attempt_at AS due FROM webhook_deliveries c
  JOIN webhook_endpoints e ON e.id = c.endpoint_id
  WHERE c.status = 'pending' AND c.next_attempt_at <= $1 AND e.disabled_at IS NULL
  ORDER BY c.next_attempt_at, c.id LIMIT $3
  FOR UPDATE OF c SKIP LOCKED
) AS claimed
WHERE d.id = claimed.id
RETURNING d.id, d.endpoint_id, d.event, d.attempts, claimed.due`

const PRUNE = `
DELETE FROM webhook_deliveries WHERE id IN (
  SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND status <> 'pending'
  ORDER BY id DESC OFFSET $2
)`

const DELIVERY_COLUMNS = `id, endpoint_id, event, status, attempts, last_attempt_at, last_status, last_error,
  next_attempt_at, created_at`

// First key of the two-key advisory lock that serializes pruning an endpoint's deliveries.
const PRUNE_LOCK = 0x54_57_48_4b

/**
 * Stores `records` in the transaction of `client`, the one that writes the change they tell
 * of; checked with `checkRecords` by the caller.
 */
export async function writeRecords(client: PoolClient, records: readonly OutboxRecord[]): Promise<void> {
  for (const record of records) {
    if (record.type === 'document.updated') {
      await client.query(UPSERT_MARKER, [
        record.document,
        record.at,
        unionOfEditors([], record.editors),
        record.data ?? {},
        EDITORS_LIMIT,
      ])
    } else {
      const event = recordEvent(record)
      await client.query(
        'INSERT INTO outbox_events (id, type, document, at, editors, data) VALUES ($1, $2, $3, $4, $5, $6)',
        [event.id, event.type, event.document, event.at, event.editors, event.data],
      )
    }
  }
}

/**
 * The webhook outbox of a `PostgresStore`, in its database (the `_webhooks` migration), for
 * every instance at once: promoters and claimers lock the rows they take with
 * `FOR UPDATE SKIP LOCKED`, so no two instances take the same event or delivery.
 */
export class PostgresOutbox implements Outbox {
  readonly #access: PostgresAccess

  constructor(access: PostgresAccess) {
    this.#access = access
  }

  saveEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    return this.#access.query('saveEndpoint', async (pool) => {
      await pool.query(
        `INSERT INTO webhook_endpoints
           (id, url, events, documents, format, secret, created_at, disabled_at, failing_since)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET url = $2, events = $3, documents = $4, format = $5, secret = $6,
           created_at = $7, disabled_at = $8, failing_since = $9`,
        [
          endpoint.id, endpoint.url, endpoint.events, endpoint.documents, endpoint.format, endpoint.secret,
          endpoint.createdAt, endpoint.disabledAt, endpoint.failingSince,
        ],
      )
    }, true)
  }

  listEndpoints(): Promise<WebhookEndpoint[]> {
    return this.#access.query('listEndpoints', async (pool) => {
      const { rows } = await pool.query<EndpointRow>('SELECT * FROM webhook_endpoints ORDER BY created_at, id')
      return rows.map(toEndpoint)
    }, false)
  }

  deleteEndpoint(id: string): Promise<boolean> {
    // Its deliveries go with it (ON DELETE CASCADE).
    return this.#access.query('deleteEndpoint', async (pool) => {
      const { rowCount } = await pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [id])
      return rowCount === 1
    }, true)
  }

  async record(records: readonly OutboxRecord[]): Promise<void> {
    checkRecords(records)
    if (records.length === 0) return
    await this.#access.transaction('record', (client) => writeRecords(client, records))
  }

  async promote(
    now: Date,
    due: UpdateDue,
    route: (event: OutboxEvent) => readonly string[],
    limit = PROMOTE_LIMIT,
  ): Promise<number> {
    let promoted = 0
    // One transaction per event: a promoter holds one row lock at a time.
    const promoteNext = () => this.#access.transaction('promote', (client) => promoteOne(client, now, due, route))
    while (promoted < limit && await promoteNext()) promoted += 1
    return promoted
  }

  claim(now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    return this.#access.query('claim', async (pool) => {
      const { rows } = await pool.query<ClaimedRow>(CLAIM, [now, new Date(now.getTime() + leaseMs), limit])
      return rows
        .sort((a, b) => a.due.getTime() - b.due.getTime() || (a.id < b.id ? -1 : 1))
        .map((row) => ({
          id: row.id,
          endpointId: row.endpoint_id,
          event: toEvent(row.event),
          attempts: row.attempts,
        }))
    }, true)
  }

  async settle(deliveryId: string, result: AttemptResult): Promise<void> {
    await this.#access.transaction('settle', async (client) => {
      const { rows: [row] } = await client.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 FOR UPDATE`,
        [deliveryId],
      )
      if (row === undefined) return
      const after = settled(toDelivery(row), result)
      await client.query(
        `UPDATE webhook_deliveries SET status = $2, attempts = $3, last_attempt_at = $4, last_status = $5,
           last_error = $6, next_attempt_at = $7
         WHERE id = $1`,
        [deliveryId, after.status, after.attempts, after.lastAttemptAt, after.lastStatus, after.lastError,
          after.nextAttemptAt],
      )
      // Settles of one endpoint prune one after the other, never deleting rows in two orders.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PRUNE_LOCK, after.endpointId])
      await client.query(PRUNE, [after.endpointId, SETTLED_KEPT])
    })
  }

  listDeliveries(endpointId: string, limit: number): Promise<DeliveryInfo[]> {
    return this.#access.query('listDeliveries', async (pool) => {
      const { rows } = await pool.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2`,
        [endpointId, limit],
      )
      return rows.map(toDelivery)
    }, false)
  }

  retryDelivery(endpointId: string, deliveryId: string, now: Date): Promise<boolean> {
    return this.#access.query('retryDelivery', async (pool) => {
      const { rowCount } = await pool.query(
        `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3
         WHERE endpoint_id = $1 AND id = $2`,
        [endpointId, deliveryId, now],
      )
      return rowCount === 1
    }, true)
  }

  resume(endpointId: string, now: Date): Promise<number> {
    return this.#access.query('resume', async (pool) => {
      const { rowCount } = await pool.query(
        `UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`,
        [endpointId, now],
      )
      return rowCount ?? 0
    }, true)
  }

  depth(): Promise<number> {
    return this.#access.query('depth', async (pool) => {
      const { rows: [row] } = await pool.query<{ depth: number }>(
        `SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')
           + (SELECT count(*) FROM outbox_events) + (SELECT count(*) FROM outbox_markers) AS depth`,
      )
      return Number(row!.depth)
    }, false)
  }
}

/**
 * Promotes the oldest recorded event, or else the due marker waiting longest, in `client`'s
 * transaction; false when there is none to promote.
 */
async function promoteOne(
  client: PoolClient,
  now: Date,
  due: UpdateDue,
  route: (event: OutboxEvent) => readonly string[],
): Promise<boolean> {
  let event: OutboxEvent
  const { rows: [eventRow] } = await client.query<EventRow>(NEXT_EVENT)
  if (eventRow !== undefined) {
    event = { ...eventRow, type: eventRow.type as OutboxEventType }
    await client.query('DELETE FROM outbox_events WHERE id = $1', [event.id])
  } else {
    const { rows: [marker] } = await client.query<MarkerRow>(NEXT_MARKER, [
      new Date(now.getTime() - due.quietMs),
      new Date(now.getTime() - due.maxWaitMs),
    ])
    if (marker === undefined) return false
    event = markerEvent({
      document: marker.document,
      firstAt: marker.first_at,
      lastAt: marker.last_at,
      editors: marker.editors,
      data: marker.data,
    })
    await client.query('DELETE FROM outbox_markers WHERE document = $1', [marker.document])
  }
  const endpoints = [...new Set(route(event))]
  if (endpoints.length > 0) {
    const ids = endpoints.map(() => newOutboxId())
    await client.query(INSERT_DELIVERIES, [ids, endpoints, fromEvent(event), now])
  }
  return true
}

interface EndpointRow {
  id: string
  url: string
  events: string[]
  documents: string | null
  format: string | null
  secret: string
  created_at: Date
  disabled_at: Date | null
  failing_since: Date | null
}

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    events: row.events as OutboxEventType[],
    documents: row.documents,
    format: row.format as WebhookEndpoint['format'],
    secret: row.secret,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
    failingSince: row.failing_since,
  }
}

interface EventRow {
  id: string
  type: string
  document: string
  at: Date
  editors: string[]
  data: Record<string, unknown>
}

interface MarkerRow {
  document: string
  first_at: Date
  last_at: Date
  editors: string[]
  data: Record<string, unknown>
}

/** An event as the `event` column holds it (JSON, `at` as an ISO string). */
interface StoredEvent {
  id: string
  type: OutboxEventType
  document: string
  at: string
  editors: string[]
  data: Record<string, unknown>
}

function fromEvent(event: OutboxEvent): StoredEvent {
  return { ...event, editors: [...event.editors], at: event.at.toISOString() }
}

function toEvent(stored: StoredEvent): OutboxEvent {
  return { ...stored, at: new Date(stored.at) }
}

interface ClaimedRow {
  id: string
  endpoint_id: string
  event: StoredEvent
  attempts: number
  due: Date
}

interface DeliveryRow {
  id: string
  endpoint_id: string
  event: StoredEvent
  status: DeliveryStatus
  attempts: number
  last_attempt_at: Date | null
  last_status: number | null
  last_error: string | null
  next_attempt_at: Date | null
  created_at: Date
}

function toDelivery(row: DeliveryRow): DeliveryInfo {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    event: toEvent(row.event),
    status: row.status,
    attempts: row.attempts,
    lastAttemptAt: row.last_attempt_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
  }
}
