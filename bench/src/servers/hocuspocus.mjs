// Hocuspocus 4.7 as people run it, in memory (no persistence extension).
import { Server } from '@hocuspocus/server'

const server = new Server({ port: Number(process.env.PORT ?? 1234), address: '127.0.0.1', quiet: true })
await server.listen()
