import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

/** The Redis the tests use: `REDIS_URL`, or the local default. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * Checks that Redis answers. Under `CI=true` an unreachable Redis throws (the suite must not
 * pass by skipping); elsewhere it gives the reason to skip with.
 */
export async function redisSkipReason(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  // connect() only says 'Connection is closed.'; the 'error' event says why.
  let lastError: unknown
  client.on('error', (error: unknown) => {
    lastError = error
  })
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    const failure = lastError ?? error
    const why = failure instanceof Error ? failure.message : String(failure)
    const reason = `Redis at REDIS_URL=${redactedUrl(REDIS_URL)} is unreachable (${why})`
    if (process.env.CI === 'true') throw new Error(`${reason}: CI needs a Redis for these tests`, { cause: error })
    return reason
  } finally {
    client.disconnect()
  }
}

/** A prefix of keys and channels no other test run shares. */
export function testPrefix(): string {
  return `tandem-test:${randomBytes(6).toString('hex')}:`
}

/** Host and port of `url`, for connecting a proxy to it. */
export function redisTarget(url = REDIS_URL): { host: string, port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port) }
}

/** `url` with its host and port replaced by a local proxy's, credentials and database kept. */
export function urlThroughProxy(port: number, url = REDIS_URL): string {
  const parsed = new URL(url)
  parsed.hostname = '127.0.0.1'
  parsed.port = String(port)
  return parsed.toString()
}

/** A plain client on `REDIS_URL`, for looking at keys and publishing raw bytes. */
export async function redisClient(): Promise<Redis> {
  const client = new Redis(REDIS_URL, { lazyConnect: true })
  await client.connect()
  return client
}

/** The keys under `prefix`. */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys
}

/** Deletes the keys under `prefix` (a test run's leftovers). */
export async function deleteKeysUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix)
  if (keys.length > 0) await client.del(...keys)
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    parsed.username = ''
    return parsed.toString()
  } catch {
    return '(unparsable)'
  }
}
