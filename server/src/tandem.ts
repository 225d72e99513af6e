import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { DocumentStore } from '@tandem/persistence/document-store'
import type { Logger } from 'pino'
import { createApp } from './app.js'
import { CloseCode } from './close-codes.js'
import { RoomRegistry } from './room-registry.js'
import { WebSocketGateway } from './websocket-gateway.js'

export interface TandemOptions {
  readonly store: DocumentStore
  readonly logger: Logger
  readonly host: string
  readonly port: number
  readonly maxMessageBytes: number
  readonly unloadDelayMs: number
  readonly pingIntervalMs: number
  /** A client whose unsent bytes pass this is closed with 1013. */
  readonly maxBufferedBytes?: number
}

/** A running server. */
export interface Tandem {
  readonly url: string
  readonly port: number
  readonly registry: RoomRegistry
  readonly gateway: WebSocketGateway
  /** Stops accepting, flushes every write, closes sockets with 1001 and the store. */
  stop(): Promise<void>
}

/** Starts the HTTP and WebSocket server on one port. */
export async function startTandem(options: TandemOptions): Promise<Tandem> {
  const { store, logger } = options
  const registry = new RoomRegistry({ store, logger, unloadDelayMs: options.unloadDelayMs })
  const gateway = new WebSocketGateway({
    registry,
    logger,
    maxMessageBytes: options.maxMessageBytes,
    pingIntervalMs: options.pingIntervalMs,
    // Room for a full document reply on top of a backlog of ordinary messages.
    maxBufferedBytes:
      options.maxBufferedBytes ?? Math.max(32 * 1024 * 1024, 2 * options.maxMessageBytes),
    maxQueuedMessages: 1024,
  })
  const app = createApp({ store, logger })
  const server = createAdaptorServer({ fetch: app.fetch }) as Server
  server.on('upgrade', (request, socket, head) => gateway.handleUpgrade(request, socket, head))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
  let stopping: Promise<void> | null = null
  return {
    url,
    port,
    registry,
    gateway,
    stop: () => {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await registry.close()
        gateway.close(CloseCode.goingAway)
        await store.close()
        server.closeAllConnections()
        await closed
      })()
      return stopping
    },
  }
}
