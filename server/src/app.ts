import type { DocumentStore } from '@tandem/persistence/document-store'
import { Hono } from 'hono'
import type { Logger } from 'pino'
import { landingPage } from './landing-page.js'

export interface AppOptions {
  readonly store: DocumentStore
  readonly logger: Logger
}

/** The HTTP routes. WebSocket upgrades are handled beside it, on the same server. */
export function createApp({ store, logger }: AppOptions): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', async (c) => {
    try {
      // A name no document can have: it exercises the store without touching a document.
      await store.info('.readyz')
      return c.json({ status: 'ready' })
    } catch (error) {
      return c.json({ status: 'unavailable', error: (error as Error).message }, 503)
    }
  })
  app.get('/', (c) => c.html(landingPage(new URL(c.req.url).host)))
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'no such route' } }, 404))
  app.onError((error, c) => {
    logger.error({ err: error, path: c.req.path }, 'request failed')
    return c.json({ error: { code: 'internal', message: 'internal server error' } }, 500)
  })
  return app
}
