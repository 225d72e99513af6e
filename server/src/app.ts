import type { DocumentStore } from '@tandem/persistence/document-store'
import { Hono } from 'hono'
import type { Logger } from 'pino'
import type { Authenticator } from './auth/authenticator.js'
import type { Bus } from './bus/bus.js'
import type { ShareTokens } from './auth/share-tokens.js'
import { ConversionPool } from './content/conversion-pool.js'
import { ApiError } from './http/api-error.js'
import type { ContentConversions } from './http/request-content.js'
import { documentsRoutes } from './http/documents-routes.js'
import { webhookRoutes } from './http/webhook-routes.js'
import type { Webhooks } from './webhooks/webhooks.js'
import { editorRoutes } from './http/editor-routes.js'
import { metricsAuth } from './http/metrics-auth.js'
import { securityHeaders } from './http/security-headers.js'
import { shareRoutes } from './http/share-routes.js'
import type { Metrics } from './metrics.js'
import { ProtocolError } from './protocol/messages.js'
import type { RoomRegistry } from './room/room-registry.js'

export interface AppOptions {
  readonly store: DocumentStore
  /** `/api/webhooks`; absent in tests of other routes. */
  readonly webhooks?: Webhooks
  /** Reported by /readyz; absent for an app without other instances. */
  readonly bus?: Bus
  readonly registry: RoomRegistry
  readonly authenticator: Authenticator
  readonly metrics: Metrics
  readonly logger: Logger
  /** The built web editor (editor/dist). */
  readonly editorDir: string
  /** Largest HTTP body accepted (413 past it). */
  readonly maxBodyBytes: number
  /**
   * The worker pool of imports and exports, and the cap of Markdown and HTML bodies. Without
   * it, a pool of default size (its idle workers never keep the process alive).
   */
  readonly conversions?: ContentConversions
  /** Signs share links' tokens; null or absent in open mode. */
  readonly shareTokens?: ShareTokens | null
  /** Bearer token for /metrics when tokens are required (METRICS_TOKEN). */
  readonly metricsToken?: string | null
  /** Origins allowed to frame the pages (FRAME_ANCESTORS); none by default. */
  readonly frameAncestors?: readonly string[]
}

/** The HTTP routes. WebSocket upgrades are handled beside it, on the same server. */
export function createApp(options: AppOptions): Hono {
  const { store, metrics, logger } = options
  const app = new Hono()
  app.use('*', securityHeaders({ frameAncestors: options.frameAncestors ?? [] }))
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', async (c) => {
    try {
      // A canary written and taken back, as an append is: a store that can read but no
      // longer write (a full disk) is not ready.
      await store.checkWritable()
    } catch (error) {
      return c.json({ status: 'unavailable', error: (error as Error).message }, 503)
    }
    // Without the bus this instance still stores and serves its own clients, but the others
    // see its changes only through the store's catch-up: not ready for new clients.
    const bus = options.bus?.status() ?? { ready: true }
    if (!bus.ready) return c.json({ status: 'unavailable', error: `bus: ${bus.reason}` }, 503)
    return c.json({ status: 'ready' })
  })
  app.get('/metrics', metricsAuth(options.authenticator, options.metricsToken ?? null), async (c) => {
    c.header('Content-Type', metrics.registry.contentType)
    return c.body(await metrics.registry.metrics())
  })
  app.route('/', editorRoutes(options.editorDir))
  app.route('/api/documents', shareRoutes({ authenticator: options.authenticator, shareTokens: options.shareTokens ?? null }))
  const conversions = options.conversions ?? {
    pool: new ConversionPool({ timeoutMs: 10_000, maxQueued: 16, logger }),
    maxTextContentBytes: 1024 * 1024,
  }
  app.route('/api/documents', documentsRoutes({ ...options, conversions, recorder: options.webhooks ?? undefined }))
  if (options.webhooks) app.route('/api/webhooks', webhookRoutes({ authenticator: options.authenticator, webhooks: options.webhooks }))
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'no such route' } }, 404))
  app.onError((error, c) => {
    if (error instanceof ApiError) {
      // RFC 6750: a 401 names the scheme it wants.
      if (error.status === 401) c.header('WWW-Authenticate', `Bearer realm="tandem", error="invalid_token"`)
      return c.json({ error: { code: error.code, message: error.message } }, error.status)
    }
    // An update the document refused (an HTTP merge nesting too deep): nothing was applied.
    if (error instanceof ProtocolError) {
      return c.json({ error: { code: 'invalid_content', message: error.message } }, 422)
    }
    logger.error({ err: error, path: c.req.path }, 'request failed')
    return c.json({ error: { code: 'internal', message: 'internal server error' } }, 500)
  })
  return app
}
