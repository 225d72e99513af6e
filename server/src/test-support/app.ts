import type { DocumentStore } from '@tandem/persistence/document-store'
import type { Hono } from 'hono'
import { pino } from 'pino'
import { createApp } from '../app.js'
import { OpenAuthenticator } from '../auth/open-authenticator.js'
import { MemoryHub } from '../bus/memory-bus.js'
import { Metrics } from '../metrics.js'
import { RoomRegistry } from '../room/room-registry.js'

/** The HTTP app on `store` in open mode, without a port or a built editor: for `app.request()`. */
export function inProcessApp(store: DocumentStore): Hono {
  const logger = pino({ level: 'silent' })
  const metrics = new Metrics({ defaultMetrics: false })
  return createApp({
    store,
    registry: new RoomRegistry({ store, bus: new MemoryHub().bus(), logger, metrics, unloadDelayMs: 0 }),
    authenticator: new OpenAuthenticator(),
    metrics,
    logger,
    editorDir: '/nonexistent',
    maxBodyBytes: 1024,
  })
}
