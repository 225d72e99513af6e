import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import type { TcpProxy } from '../test-support/tcp-proxy.js'
import { startTcpProxy } from '../test-support/tcp-proxy.js'
import {
  deleteKeysUnder, keysUnder, REDIS_URL, redisClient, redisSkipReason, redisTarget, testPrefix,
  urlThroughProxy,
} from '../test-support/redis.js'
import type { BusMessage, InstanceId } from './bus.js'
import { describeBus } from './bus-contract.js'
import { encodeBusFrame } from './bus-codec.js'
import type { BusLogger } from './bus-listeners.js'
import type { RedisBusOptions } from './redis-bus.js'
import { BusUnreachableError, documentChannel, livenessKey, RedisBus } from './redis-bus.js'

const HEARTBEAT_MS = 100
const LIVENESS_TTL_MS = 400
const SLACK_MS = 500
const skip = await redisSkipReason()

/** Buses on the real Redis, each behind its own proxy so one can be cut off alone. */
function cluster(prefix: string, options: Partial<RedisBusOptions> = {}) {
  const buses: RedisBus[] = []
  const proxies = new Map<RedisBus, TcpProxy>()
  return {
    async create(): Promise<RedisBus> {
      const proxy = await startTcpProxy(redisTarget())
      const bus = new RedisBus({
        url: urlThroughProxy(proxy.port),
        prefix,
        heartbeatMs: HEARTBEAT_MS,
        livenessTtlMs: LIVENESS_TTL_MS,
        ...options,
      })
      buses.push(bus)
      proxies.set(bus, proxy)
      return bus
    },
    proxy(bus: RedisBus): TcpProxy {
      const proxy = proxies.get(bus)
      if (proxy === undefined) throw new Error('not a bus of this cluster')
      return proxy
    },
    async dispose() {
      await Promise.all(buses.map((bus) => bus.close()))
      await Promise.all([...proxies.values()].map((proxy) => proxy.close()))
    },
  }
}

if (skip !== undefined) {
  describe('RedisBus', { skip }, () => {})
} else {
  const prefix = testPrefix()
  let redis: Redis
  before(async () => {
    redis = await redisClient()
  })
  after(async () => {
    await deleteKeysUnder(redis, prefix)
    redis.disconnect()
  })

  describeBus<RedisBus>('RedisBus', async () => {
    const buses = cluster(`${prefix}contract:`)
    return {
      create: () => buses.create(),
      published: (bus) => bus.published,
      // A SIGKILLed instance neither closes nor deletes its key: it goes silent and its key
      // lapses. Cutting its link for good is that, seen from Redis ([RB6] kills a process).
      kill: async (bus) => buses.proxy(bus).cut(),
      cut: async (bus) => buses.proxy(bus).cut(),
      heal: async (bus) => buses.proxy(bus).heal(),
      downWithinMs: LIVENESS_TTL_MS + HEARTBEAT_MS + SLACK_MS,
      closedWithinMs: HEARTBEAT_MS + SLACK_MS,
      dispose: () => buses.dispose(),
    }
  })

  describe('RedisBus on Redis', () => {
    const buses = cluster(`${prefix}rb:`)
    // Closed after the suite even when a test fails halfway, so the run can end.
    const direct: RedisBus[] = []
    after(async () => {
      await Promise.all(direct.map((bus) => bus.close()))
      await buses.dispose()
    })

    async function opened(options: Partial<RedisBusOptions> = {}): Promise<RedisBus> {
      const bus = new RedisBus({
        url: REDIS_URL, prefix: `${prefix}rb:`, heartbeatMs: HEARTBEAT_MS, livenessTtlMs: LIVENESS_TTL_MS, ...options,
      })
      direct.push(bus)
      await bus.open()
      return bus
    }

    it('[RB1] a malformed message on a document\'s channel is logged and dropped, and the bus goes on', async () => {
      const warnings: string[] = []
      const logger = {
        info: () => {},
        error: () => {},
        warn: (_: unknown, message: string) => warnings.push(message),
      }
      const bus = await opened({ logger: logger as unknown as BusLogger })
      try {
        const received: BusMessage[] = []
        let resolveGood = () => {}
        const good = new Promise<void>((resolve) => {
          resolveGood = resolve
        })
        bus.subscribe('rb1', (message) => {
          received.push(message)
          resolveGood()
        })
        const channel = documentChannel(`${prefix}rb:`, 'rb1')
        await until(async () => (await numsub(redis, channel)) === 1, 'the subscription')
        const valid = encodeBusFrame('sender' as InstanceId, { type: 'awareness', update: Uint8Array.of(1, 2, 3) })
        const malformed = [
          Buffer.from('not a frame'),
          Buffer.alloc(0),
          Buffer.from(valid.subarray(0, valid.length - 1)),
          Buffer.concat([valid, Buffer.of(0)]),
          Buffer.from([2, ...valid.subarray(1)]),
          Buffer.from([1, 9, 1, 65]),
          // A length far past the end: lib0 alone would read into the pooled buffer behind it.
          Buffer.from([1, 1, 1, 65, 0xff, 0xff, 0x03]),
        ]
        for (const bytes of malformed) await redis.publish(channel, bytes)
        await redis.publish(channel, Buffer.from(encodeBusFrame('sender' as InstanceId, { type: 'deleted' })))
        await within(good, 'the good message')
        assert.deepEqual(received, [{ type: 'deleted' }])
        assert.equal(bus.malformed, malformed.length)
        assert.equal(warnings.filter((warning) => warning.includes('malformed')).length, malformed.length)
        assert.deepEqual(bus.status(), { ready: true })
      } finally {
        await bus.close()
      }
    })

    it('[RB2] open() rejects within its timeout when Redis cannot be reached, naming the host, never the password', async () => {
      const port = await closedPort()
      const bus = new RedisBus({ url: `redis://tandem:s3cret-word@127.0.0.1:${port}`, prefix: `${prefix}rb:`, openTimeoutMs: 500 })
      const start = performance.now()
      await assert.rejects(bus.open(), (error: unknown) => {
        assert.ok(error instanceof BusUnreachableError)
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
        assert.match(error.message, /REDIS_URL/)
        assert.doesNotMatch(error.message, /s3cret|tandem:/)
        return true
      })
      assert.ok(performance.now() - start < 2000)
      const status = bus.status()
      assert.ok(!status.ready && !status.reason.includes('s3cret'))
      await bus.close()
    })

    it('[RB3] an open bus keeps its liveness key alive with a TTL; close deletes it, and a run leaves no key', async () => {
      const own = `${prefix}rb3:`
      const bus = await opened({ prefix: own })
      const key = livenessKey(own, bus.instance)
      assert.equal(key, `${own}instance:${bus.instance}`)
      const ttl = await redis.pttl(key)
      assert.ok(ttl > 0 && ttl <= LIVENESS_TTL_MS, `TTL ${ttl}`)
      // Three TTLs later the key is still there: the heartbeat renews it.
      await new Promise((resolve) => setTimeout(resolve, 3 * LIVENESS_TTL_MS))
      assert.equal(await redis.exists(key), 1)
      await bus.close()
      assert.equal(await redis.exists(key), 0)
      assert.deepEqual(await keysUnder(redis, own), [])
    })

    it('[RB4] a channel is subscribed on its first listener, dropped with its last, and back before resync', async () => {
      const bus = await buses.create()
      await bus.open()
      const name = 'Überblick:2026~notes.日本'
      const channel = `${prefix}rb:doc:${name}`
      assert.equal(documentChannel(`${prefix}rb:`, name), channel)
      const first = bus.subscribe(name, () => {})
      const second = bus.subscribe(name, () => {})
      bus.subscribe('rb4-other', () => {})
      await until(async () => (await numsub(redis, channel)) === 1, 'the first subscription')
      first()
      first()
      const resynced = new Promise<void>((resolve) => bus.on('resync', resolve))
      buses.proxy(bus).cut()
      await until(async () => (await numsub(redis, channel)) === 0, 'the cut connection to go')
      buses.proxy(bus).heal()
      await within(resynced, 'resync')
      assert.equal(await numsub(redis, channel), 1)
      assert.equal(await numsub(redis, documentChannel(`${prefix}rb:`, 'rb4-other')), 1)
      second()
      await until(async () => (await numsub(redis, channel)) === 0, 'the unsubscription')
    })

    it('[RB5] channel names are one-to-one: valid names as given, lone surrogates and % escaped', () => {
      assert.equal(documentChannel('p:', 'a.b'), 'p:doc:a.b')
      const names = ['\uD800', '\uDC00', '\uFFFD', '%ud800', '%', '%25', 'a\uD83D\uDE00b']
      const channels = names.map((name) => documentChannel('p:', name))
      assert.equal(new Set(channels).size, names.length)
      for (const channel of channels) assert.doesNotMatch(channel, /\p{Cs}/u)
      assert.equal(documentChannel('p:', 'a\uD83D\uDE00b'), 'p:doc:a\uD83D\uDE00b')
    })

    it('[RB6] a SIGKILLed process is reported down within its liveness TTL plus one heartbeat', async () => {
      const own = `${prefix}rb6:`
      const survivor = await opened({ prefix: own })
      const heard = new Promise<InstanceId>((resolve) => survivor.subscribe('rb6', (_, from) => resolve(from)))
      const child = spawnBus(own)
      try {
        const instance = await within(heard, 'the child bus')
        const down = new Promise<void>((resolve) => survivor.on('instanceDown', (gone) => {
          if (gone === instance) resolve()
        }))
        const start = performance.now()
        child.kill('SIGKILL')
        await within(down, 'instanceDown', 10_000)
        const elapsed = performance.now() - start
        assert.ok(elapsed <= LIVENESS_TTL_MS + HEARTBEAT_MS + SLACK_MS, `instanceDown after ${Math.round(elapsed)} ms`)
        assert.equal(await redis.exists(livenessKey(own, instance)), 0)
      } finally {
        child.kill('SIGKILL')
        await survivor.close()
      }
    })

    it('[RB7] a publish while Redis is away is dropped at once and counted, never sent later', async () => {
      const bus = await buses.create()
      await bus.open()
      const listener = await opened()
      const got: BusMessage[] = []
      listener.subscribe('rb7', (message) => got.push(message))
      await until(async () => (await numsub(redis, documentChannel(`${prefix}rb:`, 'rb7'))) >= 1, 'the subscription')
      const resynced = new Promise<void>((resolve) => bus.on('resync', resolve))
      buses.proxy(bus).cut()
      await until(async () => !bus.status().ready, 'the cut bus to report not ready')
      const published = bus.published
      const dropped = bus.dropped
      for (let index = 0; index < 5; index++) bus.publish('rb7', { type: 'deleted' })
      assert.equal(bus.published, published)
      assert.equal(bus.dropped, dropped + 5)
      buses.proxy(bus).heal()
      await within(resynced, 'resync')
      let resolveArrived = () => {}
      const arrived = new Promise<void>((resolve) => {
        resolveArrived = resolve
      })
      listener.subscribe('rb7', () => resolveArrived())
      bus.publish('rb7', { type: 'query-awareness' })
      await within(arrived, 'the message after the outage')
      assert.deepEqual(got, [{ type: 'query-awareness' }])
      await listener.close()
    })
  })
}

async function numsub(redis: Redis, channel: string): Promise<number> {
  const reply = await redis.pubsub('NUMSUB', channel) as [string, number]
  return Number(reply[1])
}

/** Polls Redis state, which announces no event. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited 5000 ms for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A process with one RedisBus that announces itself on `rb6`, to be SIGKILLed. */
function spawnBus(prefix: string) {
  const module = fileURLToPath(new URL('./redis-bus.ts', import.meta.url))
  const script = `
    import { RedisBus } from ${JSON.stringify(module)}
    const bus = new RedisBus({ url: process.env.REDIS_URL, prefix: process.env.BUS_PREFIX, heartbeatMs: ${HEARTBEAT_MS}, livenessTtlMs: ${LIVENESS_TTL_MS} })
    await bus.open()
    setInterval(() => bus.publish('rb6', { type: 'awareness', update: Uint8Array.of(1) }), 20)
  `
  const child = spawn(process.execPath, ['--conditions=tandem-source', '--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, REDIS_URL, BUS_PREFIX: prefix },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  return child
}
