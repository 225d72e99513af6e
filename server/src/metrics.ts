import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

/** The Prometheus metrics of one server; each server has its own registry. */
export class Metrics {
  readonly registry = new Registry()
  readonly connections = new Gauge({
    name: 'tandem_connections',
    help: 'Open WebSocket connections',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  })

  readonly rooms = new Gauge({
    name: 'tandem_documents_loaded',
    help: 'Documents loaded in memory',
    registers: [this.registry],
  })

  readonly updates = new Counter({
    name: 'tandem_updates_received_total',
    help: 'Document updates received from clients and applied',
    registers: [this.registry],
  })

  readonly readOnlyUpdatesDropped = new Counter({
    name: 'tandem_readonly_updates_dropped_total',
    help: 'Document updates from read-only clients, dropped',
    registers: [this.registry],
  })

  readonly refusals = new Counter({
    name: 'tandem_refusals_total',
    help: 'Connections or documents refused, by close code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })

  readonly storeFailures = new Counter({
    name: 'tandem_store_failures_total',
    help: 'Store loads and writes that failed',
    registers: [this.registry],
  })

  readonly busPublished = new Counter({
    name: 'tandem_bus_published_total',
    help: 'Messages handed to the bus for the other instances, by type (update, awareness, query-awareness, deleted)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  })

  readonly busReceived = new Counter({
    name: 'tandem_bus_received_total',
    help: 'Messages received from other instances over the bus, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  })

  readonly caughtUp = new Counter({
    name: 'tandem_caught_up_total',
    help: 'Catch-ups from the shared store that found changes the bus had not delivered',
    registers: [this.registry],
  })

  readonly webhookAttempts = new Counter({
    name: 'tandem_webhook_attempts_total',
    help: 'Webhook delivery attempts, by result (delivered, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  })

  /** Deliveries waiting, and events not turned into deliveries yet; set after each webhook round. */
  readonly webhookQueue = new Gauge({
    name: 'tandem_webhook_queue_depth',
    help: 'Webhook deliveries pending, and recorded events not yet turned into deliveries',
    registers: [this.registry],
  })

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry })
  }
}
