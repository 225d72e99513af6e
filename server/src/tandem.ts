import { createServer, type RequestListener } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import type { DocumentStore } from '@tandem/persistence/document-store'
import type { Logger } from 'pino'
import { createApp } from './app.js'
import type { Authenticator } from './auth/authenticator.js'
import { OpenAuthenticator } from './auth/open-authenticator.js'
import type { ShareTokens } from './auth/share-tokens.js'
import type { Bus } from './bus/bus.js'
import { MemoryHub } from './bus/memory-bus.js'
import { meteredBus } from './bus/metered-bus.js'
import { CloseCode } from './close-codes.js'
import { ConnectionGuard, defaultMaxConnections } from './connection-guard.js'
import { ConversionPool } from './content/conversion-pool.js'
import { DEFAULT_EDITOR_DIR } from './http/editor-routes.js'
import { Metrics } from './metrics.js'
import { QueueBudget } from './connections/queue-budget.js'
import { SendBudget } from './connections/send-budget.js'
import type { Room } from './room/room.js'
import { RoomRegistry } from './room/room-registry.js'
import { Webhooks } from './webhooks/webhooks.js'
import { WebSocketGateway } from './websocket-gateway.js'

export interface TandemOptions {
  readonly store: DocumentStore
  /**
   * Fan-out to other instances, opened already (REDIS_URL); `stop()` closes it. Without it
   * the instance is alone (a bus with nobody on the other end).
   */
  readonly bus?: Bus
  /** How long a room retries a write while the store is unreachable (default 60 s). */
  readonly storeRetryMs?: number
  /** With a shared store: how often loaded documents are checked for missed changes (default 2 s). */
  readonly catchUpIntervalMs?: number
  readonly logger: Logger
  readonly host: string
  readonly port: number
  readonly maxMessageBytes: number
  readonly unloadDelayMs: number
  readonly pingIntervalMs: number
  /** A client whose unsent bytes pass this (besides one larger frame) is closed with 1013. */
  readonly maxBufferedBytes?: number
  /** Unsent bytes of every client together; past it, clients holding over 1 MiB are closed (1013). */
  readonly maxSendBytes?: number
  /** Defaults to open mode: everyone may write every document. */
  readonly authenticator?: Authenticator
  /** Origins allowed to open WebSockets; unset allows every origin. */
  readonly allowedOrigins?: ReadonlySet<string>
  readonly messagesPerSecond?: number
  readonly messageBurst?: number
  /** Bytes of frames a socket may send before its documents open (default MAX_MESSAGE_BYTES). */
  readonly maxQueuedBytesPerSocket?: number
  /** The same across every socket (default 4 × MAX_MESSAGE_BYTES, at least 64 MiB). */
  readonly maxQueuedBytes?: number
  /** How long a Hocuspocus socket may stay without an authenticated document. */
  readonly authTimeoutMs?: number
  /** Collect Node's default process metrics too (one server a process). */
  readonly processMetrics?: boolean
  /** The built web editor; defaults to editor/dist of this checkout. */
  readonly editorDir?: string
  /** Save a version when a document changed and this long passed since the last one. */
  readonly versionIntervalMs?: number
  /** Versions of a document kept besides the ones users labelled (VERSION_RETENTION); unset keeps all. */
  readonly versionRetention?: number
  /** Connections served at once; past it, 503 (default sized to the open-file limit). */
  readonly maxConnections?: number
  /** How long a connection may take to send its request headers; also to send its first byte. */
  readonly headersTimeoutMs?: number
  /** The clock of versions and presence expiry (tests pass a fake one); `Date.now` by default. */
  readonly now?: () => number
  /** Signs share links' tokens (with AUTH_SECRET); without it share links carry no token. */
  readonly shareTokens?: ShareTokens
  /** Bearer token for /metrics when the authenticator requires tokens (METRICS_TOKEN). */
  readonly metricsToken?: string
  /** Origins allowed to frame the pages (FRAME_ANCESTORS); none by default. */
  readonly frameAncestors?: readonly string[]
  /** How long one import or export may convert on its worker (default 10 s); past it, 422. */
  readonly conversionTimeoutMs?: number
  /** Largest text/markdown or text/html body (default 1 MiB); past it, 413. */
  readonly maxTextContentBytes?: number
  /** Worker threads converting content (default: the cores but one, 2 to 4). */
  readonly conversionWorkers?: number
  /** Conversions that may wait for a worker (default 16); past it, 503. */
  readonly maxQueuedConversions?: number
  /** A PEM certificate chain and key (TLS_CERT_FILE, TLS_KEY_FILE): serve https:// and wss://. */
  readonly tls?: TlsCredentials
  /** Where receivers reach this server (PUBLIC_URL), for the links in webhooks; its own URL by default. */
  readonly publicUrl?: string
  /** Webhooks: the endpoint from the environment, and whether private targets are allowed. */
  readonly webhooks?: WebhookSettings
}

/** What WEBHOOK_URL, WEBHOOK_SECRET and WEBHOOK_ALLOW_PRIVATE set. */
export interface WebhookSettings {
  readonly environment?: { readonly url: string, readonly secret: string } | null
  readonly allowPrivate?: boolean
  /** How often the outbox is polled (default 500 ms); tests go faster. */
  readonly pollMs?: number
  /** A delivery's timeout (default 15 s). */
  readonly timeoutMs?: number
  /** The wait before the next attempt (default: exponential backoff from 5 s); tests go faster. */
  readonly retryDelay?: (attempt: number, retryAfterMs: number | null) => number
  /** The webhooks' clock (tests move it days ahead). */
  readonly now?: () => Date
}

/** What Tandem needs to serve TLS itself, PEM-encoded. */
export interface TlsCredentials {
  readonly cert: string | Buffer
  readonly key: string | Buffer
}

/** The close codes a stop may send: 1012 (a restart, the default) or 1001 (gone for good). */
export type StopCode = typeof CloseCode.serviceRestart | typeof CloseCode.goingAway

/** A running server. */
export interface Tandem {
  readonly url: string
  readonly port: number
  readonly registry: RoomRegistry
  readonly bus: Bus
  readonly gateway: WebSocketGateway
  readonly metrics: Metrics
  readonly webhooks: Webhooks
  /**
   * Stops accepting, flushes every write, closes sockets with `code` (1012 by default: clients
   * reconnect at once, through a load balancer to another instance), then the bus and the store.
   */
  stop(code?: StopCode): Promise<void>
}

/** Starts the HTTP and WebSocket server on one port. */
export async function startTandem(options: TandemOptions): Promise<Tandem> {
  const { store, logger } = options
  const metrics = new Metrics({ defaultMetrics: options.processMetrics ?? false })
  const authenticator = options.authenticator ?? new OpenAuthenticator()
  const bus = meteredBus(options.bus ?? new MemoryHub().bus(), metrics)
  if (options.bus === undefined) await bus.open()
  const conversions = new ConversionPool({
    workers: options.conversionWorkers,
    timeoutMs: options.conversionTimeoutMs ?? 10_000,
    maxQueued: options.maxQueuedConversions ?? 16,
    logger,
  })
  // Webhooks read content through the registry (made right below) and link to this
  // server's URL (known once listening); both are there before the first round.
  const webhooks: Webhooks = new Webhooks({
    outbox: store.outbox,
    logger,
    allowPrivate: options.webhooks?.allowPrivate ?? false,
    environment: options.webhooks?.environment ?? null,
    publicUrl: () => options.publicUrl ?? url,
    pollMs: options.webhooks?.pollMs,
    timeoutMs: options.webhooks?.timeoutMs,
    retryDelay: options.webhooks?.retryDelay,
    now: options.webhooks?.now,
    metrics: {
      attempt: (result) => metrics.webhookAttempts.inc({ result }),
      depth: (value) => metrics.webhookQueue.set(value),
    },
    content: async (document, format): Promise<string | null> => {
      try {
        const state = await registry.use(document, (room: Room) => room.encodeState())
        return await conversions.run({ type: 'export', format, state })
      } catch (error) {
        logger.warn({ err: error, document }, 'webhook content could not be exported; sent without it')
        return null
      }
    },
  })
  const registry: RoomRegistry = new RoomRegistry({
    store,
    bus,
    recorder: webhooks,
    storeRetryMs: options.storeRetryMs,
    catchUpIntervalMs: options.catchUpIntervalMs,
    logger,
    metrics,
    unloadDelayMs: options.unloadDelayMs,
    versionIntervalMs: options.versionIntervalMs ?? 10 * 60_000,
    versionRetention: options.versionRetention,
    now: options.now,
  })
  const gateway = new WebSocketGateway({
    registry,
    authenticator,
    metrics,
    logger,
    sendBudget: new SendBudget(options.maxSendBytes ?? 128 * 1024 * 1024),
    queueBudget: new QueueBudget(
      options.maxQueuedBytes ?? Math.max(64 * 1024 * 1024, 4 * options.maxMessageBytes),
    ),
    maxMessageBytes: options.maxMessageBytes,
    pingIntervalMs: options.pingIntervalMs,
    allowedOrigins: options.allowedOrigins ?? null,
    limits: {
      // A backlog of ordinary messages; a whole document sent to a joiner comes on top.
      maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
      maxQueuedMessages: 1024,
      // One frame of the largest size may wait; a client sends little before its document opens.
      maxQueuedBytesPerSocket: options.maxQueuedBytesPerSocket ?? options.maxMessageBytes,
      messagesPerSecond: options.messagesPerSecond ?? 200,
      messageBurst: options.messageBurst ?? 2000,
      authTimeoutMs: options.authTimeoutMs ?? 10_000,
      // Providers reconnect after 30 s without a message; a lone editor gets no others.
      appPingIntervalMs: Math.min(options.pingIntervalMs, 10_000),
    },
  })
  const app = createApp({
    store,
    bus,
    registry,
    authenticator,
    metrics,
    logger,
    editorDir: options.editorDir ?? DEFAULT_EDITOR_DIR,
    maxBodyBytes: options.maxMessageBytes,
    conversions: { pool: conversions, maxTextContentBytes: options.maxTextContentBytes ?? 1024 * 1024 },
    shareTokens: options.shareTokens ?? null,
    metricsToken: options.metricsToken ?? null,
    frameAncestors: options.frameAncestors ?? [],
    webhooks,
  })
  const headersTimeout = options.headersTimeoutMs ?? 5_000
  const listener = getRequestListener(app.fetch)
  const handler: RequestListener = (request, response) => {
    if (!guard.refuses(request)) return void listener(request, response)
    metrics.refusals.inc({ code: '503' })
    response.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5', 'Connection': 'close' })
    response.end(JSON.stringify({ error: { code: 'too_many_connections', message: 'the server has too many connections; retry' } }))
  }
  const timeouts = {
    headersTimeout,
    // A whole request, body included: a 16 MiB PUT on a slow link, not a trickle forever.
    requestTimeout: Math.max(headersTimeout, 60_000),
    connectionsCheckingInterval: Math.min(1_000, headersTimeout),
  }
  const server = options.tls === undefined
    ? createServer(timeouts, handler)
    : createHttpsServer({ ...timeouts, ...options.tls, handshakeTimeout: headersTimeout }, handler)
  const guard = new ConnectionGuard(server, {
    maxConnections: options.maxConnections ?? defaultMaxConnections(),
    firstByteTimeoutMs: headersTimeout,
  })
  server.on('upgrade', (request, socket, head) => {
    if (!guard.refuses(request)) return gateway.handleUpgrade(request, socket, head)
    metrics.refusals.inc({ code: '503' })
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `${options.tls === undefined ? 'http' : 'https'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
  await webhooks.start()
  let stopping: Promise<void> | null = null
  return {
    url,
    port,
    registry,
    bus,
    gateway,
    metrics,
    webhooks,
    stop: (code = CloseCode.serviceRestart) => {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await webhooks.stop()
        await conversions.close()
        await registry.close(code)
        gateway.close(code)
        await bus.close()
        await store.close()
        server.closeAllConnections()
        await closed
      })()
      return stopping
    },
  }
}
