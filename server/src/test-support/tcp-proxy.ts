import type { AddressInfo, Socket } from 'node:net'
import { connect, createServer } from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 (port 0) in front of a real server (Redis, Postgres), to cut one
 * client off from it and let it back, as a network partition would.
 */
export interface TcpProxy {
  /** The port clients connect to instead of the target's. */
  readonly port: number
  /** Destroys every open connection, and destroys new ones on arrival until `heal`. */
  cut(): void
  /** Lets new connections through again (those cut stay closed; clients reconnect). */
  heal(): void
  /** Whether the proxy is cut now. */
  readonly isCut: boolean
  /** Connections accepted and passed through so far. */
  readonly connections: number
  /** Destroys every connection and stops listening. */
  close(): Promise<void>
}

/** Starts a proxy to `target`. */
export async function startTcpProxy(
  target: { readonly host: string, readonly port: number },
): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let isCut = false
  let connections = 0
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const destroyAll = () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  }
  const server = createServer((client) => {
    if (isCut) {
      client.destroy()
      return
    }
    connections++
    client.pause()
    const upstream = connect({ host: target.host, port: target.port })
    track(client)
    track(upstream)
    // Either side failing or ending takes the other one down, as a broken link would.
    const both = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', both).on('close', both)
    upstream.on('error', both).on('close', both)
    upstream.once('connect', () => {
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    get isCut() {
      return isCut
    },
    get connections() {
      return connections
    },
    cut() {
      isCut = true
      destroyAll()
    },
    heal() {
      isCut = false
    },
    close() {
      isCut = true
      destroyAll()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
