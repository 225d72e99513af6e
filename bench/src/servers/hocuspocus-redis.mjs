// Hocuspocus 4.7 scaled out as its documentation shows: @hocuspocus/extension-redis, every
// instance on one Redis and one prefix. No database extension: it stores nothing.
import { Redis } from '@hocuspocus/extension-redis'
import { Server } from '@hocuspocus/server'

const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const server = new Server({
  port: Number(process.env.PORT ?? 1234),
  address: '127.0.0.1',
  quiet: true,
  extensions: [new Redis({ host: redis.hostname, port: Number(redis.port || 6379), prefix: process.env.REDIS_PREFIX ?? 'hocuspocus' })],
})
await server.listen()
