import { once } from 'node:events'
import { connect } from 'node:net'
import { temporaryDatabase } from '@tandem/persistence/test-support/postgres'
import type { ChildServer, StartingServer } from './child-server.js'
import { spawnChildServer } from './child-server.js'
import { eventually, withTimeout } from './clients.js'
import { deleteKeysUnder, REDIS_URL, redisClient, redisTarget, testPrefix, urlThroughProxy } from './redis.js'
import type { TcpProxy } from './tcp-proxy.js'
import { startTcpProxy } from './tcp-proxy.js'

/** How one instance of a {@link Cluster} reaches Redis and Postgres. */
export interface InstanceOptions {
  /** Reach Redis through a TCP proxy of its own, so this instance alone can be cut off from it. */
  readonly redisProxy?: boolean
  /** The same for Postgres. */
  readonly postgresProxy?: boolean
  /** More environment variables for this instance. */
  readonly env?: Readonly<Record<string, string>>
}

/** One `main.ts` process of a cluster. */
export interface ClusterInstance extends ChildServer {
  /** The proxy between this instance and Redis, when it was started with one. */
  readonly redisProxy: TcpProxy | undefined
  /** The proxy between this instance and Postgres, when it was started with one. */
  readonly postgresProxy: TcpProxy | undefined
  /** Its log so far (pino JSON lines). */
  stdout(): string
  /** SIGKILL: no shutdown, no flush, its liveness key left to lapse. Resolves once it has exited. */
  kill(): Promise<void>
}

/** Instances of Tandem sharing one temporary Postgres database and one Redis key prefix. */
export interface Cluster {
  /** The shared database, reached directly (not through any proxy). */
  readonly databaseUrl: string
  /** `REDIS_PREFIX` of every instance; every key and channel of the cluster starts with it. */
  readonly prefix: string
  readonly instances: readonly ClusterInstance[]
  /** Starts one more instance on the same database and prefix. */
  start(options?: InstanceOptions): Promise<ClusterInstance>
  /**
   * Kills every instance, closes the proxies, drops the database and deletes the prefix's
   * keys. Safe to call twice, and after a failed start.
   */
  dispose(): Promise<void>
}

// Instances not killed yet; a test process that ends abruptly still leaves none running.
const running = new Set<StartingServer>()
process.once('exit', () => {
  for (const child of running) child.process.kill('SIGKILL')
})

/**
 * Starts one instance per entry of `instances` (at once, so they run their migrations
 * together as a rolling deployment would). Rejects, leaving nothing behind, if one fails.
 */
export async function startCluster(instances: readonly InstanceOptions[]): Promise<Cluster> {
  const database = await temporaryDatabase()
  const prefix = testPrefix()
  const started: ClusterInstance[] = []
  const starting = new Set<StartingServer>()
  const proxies: TcpProxy[] = []
  let disposed: Promise<void> | undefined

  const launch = async (options: InstanceOptions = {}): Promise<ClusterInstance> => {
    const redisProxy = options.redisProxy ? await startTcpProxy(redisTarget()) : undefined
    const postgresProxy = options.postgresProxy
      ? await startTcpProxy(postgresTarget(database.url))
      : undefined
    for (const proxy of [redisProxy, postgresProxy]) if (proxy !== undefined) proxies.push(proxy)
    const child = spawnChildServer({
      DATABASE_URL: postgresProxy === undefined
        ? database.url
        : urlThroughProxy(postgresProxy.port, database.url),
      REDIS_URL: redisProxy === undefined ? REDIS_URL : urlThroughProxy(redisProxy.port),
      REDIS_PREFIX: prefix,
      ...options.env,
    })
    starting.add(child)
    running.add(child)
    void child.exited.then(() => running.delete(child))
    const server = await child.listening(20_000)
    const instance: ClusterInstance = {
      ...server,
      redisProxy,
      postgresProxy,
      stdout: child.stdout,
      kill: async () => {
        child.process.kill('SIGKILL')
        await withTimeout(child.exited, 5000, 'the killed instance did not exit')
      },
    }
    return instance
  }
  const start = async (options?: InstanceOptions) => {
    const instance = await launch(options)
    started.push(instance)
    return instance
  }

  const dispose = () => {
    disposed ??= (async () => {
      for (const child of starting) child.process.kill('SIGKILL')
      await Promise.all([...starting].map((child) => child.exited))
      await Promise.all(proxies.map((proxy) => proxy.close()))
      const redis = await redisClient()
      try {
        // After the processes are gone: a live instance would write its liveness key again.
        await deleteKeysUnder(redis, prefix)
      } finally {
        redis.disconnect()
      }
      await database.dispose()
    })()
    return disposed
  }

  // Every launch settles (each has a deadline) before a failure is reported, so none is left behind.
  const launched = await Promise.allSettled(instances.map((options) => launch(options)))
  const failure = launched.find((result) => result.status === 'rejected')
  if (failure !== undefined) {
    await dispose()
    throw failure.reason
  }
  for (const result of launched) if (result.status === 'fulfilled') started.push(result.value)
  return { databaseUrl: database.url, prefix, instances: started, start, dispose }
}

function postgresTarget(url: string): { host: string, port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: parsed.port === '' ? 5432 : Number(parsed.port) }
}

/** A PUBLISH as MONITOR shows it: the channel, and the message with its bytes escaped (`\\x01`). */
export interface MonitoredPublish {
  readonly channel: string
  readonly message: string
}

/** The PUBLISH commands Redis executes on one prefix's channels, as they happen. */
export interface PublishMonitor {
  /** Every one seen so far, in the order Redis executed them. */
  readonly seen: readonly MonitoredPublish[]
  /** Resolves once every command Redis executed before this call has been seen. */
  settle(): Promise<void>
  close(): void
}

/**
 * Watches Redis with MONITOR on a plain socket of its own, keeping the PUBLISH commands on
 * channels under `prefix` (other test runs, on other prefixes, do not count). ioredis's own
 * `monitor()` is not used: it throws when a monitored command arrives in the same read as
 * MONITOR's OK, which a busy Redis makes likely.
 */
export async function monitorPublishes(prefix: string): Promise<PublishMonitor> {
  const url = new URL(REDIS_URL)
  const socket = connect(redisTarget())
  await once(socket, 'connect')
  let failure: string | undefined
  socket.setEncoding('utf8')
  socket.on('error', (error) => {
    failure = error.message
  })
  const seen: MonitoredPublish[] = []
  const marker = `${prefix}monitor-marker`
  let markers = 0
  let buffered = ''
  // Quoted arguments: MONITOR escapes quotes, backslashes and every byte that is not printable.
  const publish = /^\+\S+ \[[^\]]*\] "publish" "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/i
  socket.on('data', (chunk: string) => {
    buffered += chunk
    const lines = buffered.split('\r\n')
    buffered = lines.pop()!
    for (const line of lines) {
      if (line.startsWith('-')) failure = line
      const match = publish.exec(line)
      if (match === null || !match[1]!.startsWith(prefix)) continue
      if (match[1] === marker) markers++
      else seen.push({ channel: match[1]!, message: match[2]! })
    }
  })
  if (url.password !== '') {
    const user = url.username === '' ? [] : [decodeURIComponent(url.username)]
    socket.write(respCommand('AUTH', ...user, decodeURIComponent(url.password)))
  }
  socket.write(respCommand('MONITOR'))
  const publisher = await redisClient()
  return {
    seen,
    settle: async () => {
      const expected = markers + 1
      // MONITOR shows commands in the order Redis ran them: once the marker is in, so is all before it.
      await publisher.publish(marker, 'settle')
      await eventually(() => failure !== undefined || markers >= expected, 'MONITOR did not show the marker')
      if (failure !== undefined) throw new Error(`MONITOR failed: ${failure}`)
    },
    close: () => {
      socket.destroy()
      publisher.disconnect()
    },
  }
}

/** A command in the Redis protocol (RESP), for the plain socket above. */
function respCommand(...parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`
}
