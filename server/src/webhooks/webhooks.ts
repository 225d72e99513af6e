import type {
  ClaimedDelivery,
  DeliveryInfo,
  Outbox,
  OutboxEvent,
  OutboxEventType,
  OutboxRecord,
  WebhookEndpoint,
} from '@tandem/persistence/outbox'
import { newOutboxId, outboxEventTypes } from '@tandem/persistence/outbox'
import type { Logger } from 'pino'
import { covers } from '../auth/authorize.js'
import { DISABLE_AFTER_MS, nextAttemptDelay } from './backoff.js'
import { DEFAULT_TIMEOUT_MS, type SendResult, sendWebhook } from './sender.js'
import { newWebhookSecret, signedHeaders } from './signature.js'
import { checkWebhookUrl } from './target-guard.js'

/** `document.updated` is sent once edits pause this long… */
export const UPDATE_QUIET_MS = 2_000
/** …or once the first of them is this old, while edits go on. */
export const UPDATE_MAX_WAIT_MS = 10_000
/** Deliveries one dispatcher holds at once; a dead one's are claimed again after the lease. */
const CLAIM_LIMIT = 16
/** Longer than a delivery can take (the send timeout), so a lease never ends mid-send. */
const LEASE_MS = DEFAULT_TIMEOUT_MS * 2
/** How long a stop waits for the deliveries in flight. */
const STOP_WAIT_MS = 2_000
/** The endpoint `WEBHOOK_URL` and `WEBHOOK_SECRET` configure. */
export const ENVIRONMENT_ENDPOINT_ID = 'env'

/** Which formats an endpoint may ask the content in. */
export type WebhookFormat = NonNullable<WebhookEndpoint['format']>

/** What an endpoint is registered with (the server adds the id, the secret and the times). */
export interface NewEndpoint {
  readonly url: string
  readonly events: readonly OutboxEventType[]
  readonly documents: string | null
  readonly format: WebhookFormat | null
}

/** Which changes to record for webhooks, in the same write that stores each change. */
export interface ChangeRecorder {
  /** Whether any endpoint wants events of `document` (so who changes it is worth finding out). */
  wants(document: string): boolean
  /** The records a change of `type` carries, or undefined when no endpoint wants it. */
  records(
    type: OutboxEventType,
    document: string,
    editors?: readonly string[],
    data?: Readonly<Record<string, unknown>>,
  ): OutboxRecord[] | undefined
}

/** Counts for `/metrics`. */
export interface WebhookMetrics {
  attempt(result: 'delivered' | 'failed'): void
  /** The outbox's depth after a round. */
  depth(value: number): void
}

export interface WebhooksOptions {
  readonly outbox: Outbox
  readonly logger: Logger
  /** Let endpoints on loopback, private and link-local addresses through (WEBHOOK_ALLOW_PRIVATE). */
  readonly allowPrivate: boolean
  /** The server's address as receivers reach it, for the payload's links to the export API. */
  readonly publicUrl: () => string
  /** A document's content in `format` (null when it does not exist), for endpoints that ask. */
  readonly content: (document: string, format: WebhookFormat) => Promise<string | null>
  /** `WEBHOOK_URL` and `WEBHOOK_SECRET`: one endpoint for every event, kept in the outbox. */
  readonly environment?: { readonly url: string, readonly secret: string } | null
  readonly metrics?: WebhookMetrics
  /** How often the outbox is polled (default 500 ms). */
  readonly pollMs?: number
  /** How often the endpoints are read again, for changes other instances made (default 5 s). */
  readonly refreshMs?: number
  readonly timeoutMs?: number
  /** The wait before the attempt after `attempt` failures; `nextAttemptDelay` by default. */
  readonly retryDelay?: (attempt: number, retryAfterMs: number | null) => number
  readonly now?: () => Date
}

/**
 * Tandem's webhooks: which changes get recorded (`records`, for the writes that store them),
 * and a dispatcher that turns the outbox's events into signed deliveries, retried with
 * backoff. Every instance runs one; the outbox hands each delivery to one of them at a time.
 */
export class Webhooks implements ChangeRecorder {
  readonly #options: WebhooksOptions
  readonly #now: () => Date
  #endpoints: WebhookEndpoint[] = []
  /** The enabled ones, kept with them: rooms ask on every write. */
  #active: WebhookEndpoint[] = []
  #timer: NodeJS.Timeout | null = null
  #ticking: Promise<void> | null = null
  #refreshedAt = 0
  #stopped = false

  constructor(options: WebhooksOptions) {
    this.#options = options
    this.#now = options.now ?? (() => new Date())
  }

  /**
   * Registers the environment's endpoint (or removes one left from before), reads the
   * endpoints and starts polling.
   */
  async start(): Promise<void> {
    const { outbox, environment } = this.#options
    if (environment) {
      const endpoints = await outbox.listEndpoints()
      const existing = endpoints.find((endpoint) => endpoint.id === ENVIRONMENT_ENDPOINT_ID)
      checkWebhookUrl(environment.url, this.#options)
      await outbox.saveEndpoint({
        id: ENVIRONMENT_ENDPOINT_ID,
        url: environment.url,
        events: [...outboxEventTypes],
        documents: null,
        format: null,
        secret: environment.secret,
        createdAt: existing?.createdAt ?? this.#now(),
        disabledAt: existing?.url === environment.url ? existing.disabledAt : null,
        failingSince: existing?.url === environment.url ? existing.failingSince : null,
      })
    } else {
      await outbox.deleteEndpoint(ENVIRONMENT_ENDPOINT_ID)
    }
    await this.#refresh()
    const poll = () => {
      if (this.#stopped) return
      this.#timer = setTimeout(() => void this.#tick().finally(poll), this.#options.pollMs ?? 500)
    }
    poll()
  }

  /**
   * Stops polling and waits a little for the round in flight: a send may take 15 s, and a
   * shutdown does not wait that long. What it leaves unsettled is sent again once its
   * lease ends, by this instance after a restart or by another one.
   */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#ticking, new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))])
    clearTimeout(timer)
  }

  wants(document: string): boolean {
    return this.#active.some((endpoint) => covers([endpoint.documents ?? '*'], document))
  }

  /**
   * The outbox records a change to `document` carries, or undefined when no enabled
   * endpoint wants that event for that document (nothing is recorded then).
   */
  records(
    type: OutboxEventType,
    document: string,
    editors: readonly string[] = [],
    data?: Readonly<Record<string, unknown>>,
  ): OutboxRecord[] | undefined {
    const wanted = this.#active.some((endpoint) => wants(endpoint, type, document))
    return wanted ? [{ type, document, at: this.#now(), editors, data }] : undefined
  }

  /** Every endpoint, without secrets. */
  async list(): Promise<Array<Omit<WebhookEndpoint, 'secret'>>> {
    await this.#refresh()
    return this.#endpoints.map(withoutSecret)
  }

  /** Registers an endpoint; the result carries its secret, shown this once. */
  async create(endpoint: NewEndpoint): Promise<WebhookEndpoint> {
    checkWebhookUrl(endpoint.url, this.#options)
    const created: WebhookEndpoint = {
      id: `ep_${newOutboxId()}`,
      url: endpoint.url,
      events: [...endpoint.events],
      documents: endpoint.documents,
      format: endpoint.format,
      secret: newWebhookSecret(),
      createdAt: this.#now(),
      disabledAt: null,
      failingSince: null,
    }
    await this.#options.outbox.saveEndpoint(created)
    await this.#refresh()
    return created
  }

  async remove(id: string): Promise<boolean> {
    const removed = await this.#options.outbox.deleteEndpoint(id)
    await this.#refresh()
    return removed
  }

  /** Enables an endpoint again (its waiting deliveries go out) or disables it. */
  async setEnabled(id: string, enabled: boolean): Promise<Omit<WebhookEndpoint, 'secret'> | null> {
    const endpoint = await this.#endpoint(id)
    if (endpoint === null) return null
    const changed = {
      ...endpoint,
      disabledAt: enabled ? null : (endpoint.disabledAt ?? this.#now()),
      failingSince: enabled ? null : endpoint.failingSince,
    }
    await this.#options.outbox.saveEndpoint(changed)
    // What waited goes out now, not at the end of a backoff that may have grown to an hour.
    if (enabled && endpoint.disabledAt !== null) await this.#options.outbox.resume(id, this.#now())
    await this.#refresh()
    return withoutSecret(changed)
  }

  /** Sends a signed `webhook.test` event to the endpoint now; nothing is recorded. */
  async test(id: string): Promise<SendResult | null> {
    const endpoint = await this.#endpoint(id)
    if (endpoint === null) return null
    const now = this.#now()
    const body = JSON.stringify({ type: 'webhook.test', timestamp: now.toISOString(), data: { endpoint: id } })
    return this.#send(endpoint, `msg_test_${newOutboxId()}`, body)
  }

  async deliveries(id: string, limit: number): Promise<DeliveryInfo[] | null> {
    if ((await this.#endpoint(id)) === null) return null
    return this.#options.outbox.listDeliveries(id, limit)
  }

  /** Sends a delivery again at the next round; false when the endpoint has no such delivery. */
  retry(id: string, deliveryId: string): Promise<boolean> {
    return this.#options.outbox.retryDelivery(id, deliveryId, this.#now())
  }

  /** One round: due events become deliveries, and the due deliveries are sent. */
  #tick(): Promise<void> {
    this.#ticking ??= this.#round().catch((error: unknown) => {
      this.#options.logger.error({ err: error }, 'webhook round failed')
    }).finally(() => {
      this.#ticking = null
    })
    return this.#ticking
  }

  async #round(): Promise<void> {
    const { outbox } = this.#options
    if (this.#now().getTime() - this.#refreshedAt >= (this.#options.refreshMs ?? 5_000)) await this.#refresh()
    // Nothing is recorded without an endpoint (events left when the last one went are its, deleted with it).
    if (this.#endpoints.length === 0) return
    const byId = new Map(this.#endpoints.map((endpoint) => [endpoint.id, endpoint]))
    const route = (event: OutboxEvent) => this.#active
      .filter((endpoint) => wants(endpoint, event.type, event.document))
      .map((endpoint) => endpoint.id)
    await outbox.promote(this.#now(), { quietMs: UPDATE_QUIET_MS, maxWaitMs: UPDATE_MAX_WAIT_MS }, route)
    for (;;) {
      const claimed = await outbox.claim(this.#now(), CLAIM_LIMIT, LEASE_MS)
      if (claimed.length === 0) break
      await Promise.all(claimed.map((delivery) => this.#deliver(delivery, byId.get(delivery.endpointId))))
      if (this.#stopped) break
    }
    this.#options.metrics?.depth(await outbox.depth())
  }

  async #deliver(delivery: ClaimedDelivery, endpoint: WebhookEndpoint | undefined): Promise<void> {
    const { outbox, logger, metrics } = this.#options
    if (endpoint === undefined) {
      endpoint = await this.#endpoint(delivery.endpointId) ?? undefined
      // Deleted meanwhile: its deliveries went with it.
      if (endpoint === undefined) return
    }
    const result = await this.#send(endpoint, `msg_${delivery.id}`, await this.#payload(delivery.event, endpoint))
    metrics?.attempt(result.ok ? 'delivered' : 'failed')
    const attempts = delivery.attempts + 1
    const status = result.status
    const at = this.#now()
    if (result.ok) {
      await outbox.settle(delivery.id, { at, ok: true, status, error: null, nextAttemptAt: null })
      if (endpoint.failingSince !== null) await this.#saveState(endpoint.id, { failingSince: null })
      return
    }
    const failingSince = endpoint.failingSince ?? at
    const disable = at.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS
    const delay = (this.#options.retryDelay ?? nextAttemptDelay)(attempts, result.retryAfterMs)
    const nextAttemptAt = new Date(at.getTime() + delay)
    await outbox.settle(delivery.id, { at, ok: false, status, error: result.error, nextAttemptAt })
    logger.warn({ endpoint: endpoint.id, delivery: delivery.id, attempts, error: result.error }, 'webhook delivery failed')
    if (disable) {
      logger.error({ endpoint: endpoint.id, since: failingSince }, 'webhook endpoint disabled after failing for days')
      await this.#saveState(endpoint.id, { failingSince, disabledAt: at })
    } else if (endpoint.failingSince === null) {
      await this.#saveState(endpoint.id, { failingSince })
    }
  }

  /** Signs with the wall clock (receivers check it against theirs), whatever `now` says. */
  #send(endpoint: WebhookEndpoint, id: string, body: string): Promise<SendResult> {
    const headers = signedHeaders(endpoint.secret, { id, timestamp: new Date(), body })
    return sendWebhook({ url: endpoint.url, headers, body }, {
      allowPrivate: this.#options.allowPrivate,
      timeoutMs: this.#options.timeoutMs,
    })
  }

  /**
   * A thin payload (Standard Webhooks' `type`, `timestamp`, `data`): the document, when,
   * who, and where to read it; its content only for an endpoint that asked for a format.
   */
  async #payload(event: OutboxEvent, endpoint: WebhookEndpoint): Promise<string> {
    const publicUrl = this.#options.publicUrl()
    const data: Record<string, unknown> = {
      ...event.data,
      document: event.document,
      updatedAt: event.at.toISOString(),
      editors: event.editors,
      url: `${publicUrl}/api/documents/${encodeURIComponent(event.document)}/content`,
    }
    if (endpoint.format !== null && event.type !== 'document.deleted') {
      data.format = endpoint.format
      data.content = await this.#options.content(event.document, endpoint.format)
    }
    return JSON.stringify({ type: event.type, timestamp: event.at.toISOString(), data })
  }

  async #endpoint(id: string): Promise<WebhookEndpoint | null> {
    await this.#refresh()
    return this.#endpoints.find((endpoint) => endpoint.id === id) ?? null
  }

  async #saveState(id: string, state: Partial<Pick<WebhookEndpoint, 'failingSince' | 'disabledAt'>>): Promise<void> {
    const current = await this.#endpoint(id)
    if (current === null) return
    await this.#options.outbox.saveEndpoint({ ...current, ...state })
    await this.#refresh()
  }

  async #refresh(): Promise<void> {
    this.#endpoints = await this.#options.outbox.listEndpoints()
    this.#active = this.#endpoints.filter((endpoint) => endpoint.disabledAt === null)
    this.#refreshedAt = this.#now().getTime()
  }
}

/** Whether the endpoint subscribed to `type` for `document`. */
function wants(endpoint: WebhookEndpoint, type: OutboxEventType, document: string): boolean {
  return endpoint.events.includes(type) && covers([endpoint.documents ?? '*'], document)
}

function withoutSecret({ secret: _secret, ...endpoint }: WebhookEndpoint): Omit<WebhookEndpoint, 'secret'> {
  return endpoint
}
