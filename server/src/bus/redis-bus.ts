import { Redis } from 'ioredis'
import type { Bus, BusEvents, BusListener, BusMessage, BusStatus, InstanceId } from './bus.js'
import { newInstanceId } from './bus.js'
import { decodeBusFrame, encodeBusFrame } from './bus-codec.js'
import type { BusLogger } from './bus-listeners.js'
import { BusListeners } from './bus-listeners.js'

/** Options of {@link RedisBus}. */
export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]`; only its host ever appears in errors and logs. */
  readonly url: string
  /** Prepended to every channel and key, so deployments (and test runs) sharing a Redis stay apart. */
  readonly prefix?: string
  /** How often this instance renews its liveness key and checks the others'. */
  readonly heartbeatMs?: number
  /** How long a liveness key outlives its last renewal. */
  readonly livenessTtlMs?: number
  /** How long `open` waits for Redis before it rejects. */
  readonly openTimeoutMs?: number
  readonly instance?: InstanceId
  readonly logger?: BusLogger
}

/** Why `open` failed: Redis could not be reached (the message names its host, never a password). */
export class BusUnreachableError extends Error {
  override readonly name = 'BusUnreachableError'
}

/** The Redis channel of `document`: `${prefix}doc:${document}`, kept one-to-one (see {@link escapeName}). */
export function documentChannel(prefix: string, document: string): string {
  return `${prefix}doc:${escapeName(document)}`
}

/** The liveness key of `instance`. */
export function livenessKey(prefix: string, instance: string): string {
  return `${prefix}instance:${escapeName(instance)}`
}

/**
 * Redis names are bytes and a string goes out as UTF-8, where every lone surrogate becomes
 * U+FFFD, so two names could share a channel. Lone surrogates (and `%`, the escape itself)
 * are percent-escaped; a valid document name has neither, so its channel reads as the name.
 */
function escapeName(name: string): string {
  return name.replace(/%|\p{Cs}/gu, (character) => `%u${character.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `host:port` of a Redis URL, for messages: never its user or password. */
export function redisHost(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`
  } catch {
    return 'an unparsable REDIS_URL'
  }
}

type Connection = 'publisher' | 'subscriber'

/**
 * The bus over Redis pub/sub: one channel per document, one PUBLISH per message, and a
 * liveness key per instance that the others poll to notice an instance that died.
 *
 * Two connections: the publisher fails fast while Redis is away (no offline queue, nothing
 * resent), so messages are dropped rather than delivered late; the subscriber resubscribes
 * every document itself on reconnect, and counts as ready only once Redis confirmed it.
 * Both reconnect forever, at most a second apart.
 */
export class RedisBus implements Bus {
  readonly instance: InstanceId
  readonly #url: string
  readonly #host: string
  readonly #prefix: string
  readonly #heartbeatMs: number
  readonly #livenessTtlMs: number
  readonly #openTimeoutMs: number
  readonly #logger: BusLogger | undefined
  readonly #listeners: BusListeners
  /** channel -> document, for the documents with listeners. */
  readonly #channels = new Map<string, string>()
  /** channel -> its first SUBSCRIBE, resolving with whether Redis confirmed it. */
  readonly #subscribing = new Map<string, Promise<boolean>>()
  /** Instances heard from -> the liveness check generation when last heard. */
  readonly #heard = new Map<InstanceId, number>()
  #generation = 0
  #state: 'new' | 'opening' | 'open' | 'closed' = 'new'
  #publisher: Redis | undefined
  #subscriber: Redis | undefined
  readonly #ready: Record<Connection, boolean> = { publisher: false, subscriber: false }
  readonly #lastError: Record<Connection, string | undefined> = {
    publisher: undefined,
    subscriber: undefined,
  }

  /** A connection was lost since the bus opened, and `resync` is owed once both are back. */
  #lost = false
  #timer: NodeJS.Timeout | undefined
  #checking = false
  #onReadyChange: (() => void) | undefined
  #published = 0
  #dropped = 0
  #malformed = 0

  constructor(options: RedisBusOptions) {
    this.instance = options.instance ?? newInstanceId()
    this.#url = options.url
    this.#host = redisHost(options.url)
    this.#prefix = options.prefix ?? 'tandem:'
    this.#heartbeatMs = options.heartbeatMs ?? 3000
    this.#livenessTtlMs = options.livenessTtlMs ?? 10_000
    this.#openTimeoutMs = options.openTimeoutMs ?? 5000
    this.#logger = options.logger
    this.#listeners = new BusListeners(options.logger)
  }

  /** PUBLISH commands sent (one per `publish` while connected), for budget tests and metrics. */
  get published(): number {
    return this.#published
  }

  /** Messages dropped because Redis was away. */
  get dropped(): number {
    return this.#dropped
  }

  /** Messages from the wire that did not decode, and were dropped. */
  get malformed(): number {
    return this.#malformed
  }

  async open(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`a ${this.#state} bus cannot be opened`)
    this.#state = 'opening'
    const publisher = new Redis(this.#url, {
      ...connectionOptions(),
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      // A heartbeat or a PUBLISH into a black hole fails instead of waiting for TCP to give up.
      commandTimeout: Math.max(1000, this.#heartbeatMs),
      // ioredis leaves the command timer of a CLIENT SETINFO cut short by a lost connection
      // running; the library name in CLIENT LIST is not worth that on every reconnection.
      disableClientInfo: true,
    })
    const subscriber = new Redis(this.#url, {
      ...connectionOptions(),
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
    })
    this.#publisher = publisher
    this.#subscriber = subscriber
    this.#watch('publisher', publisher, () => this.#publisherReady())
    this.#watch('subscriber', subscriber, () => this.#subscriberReady())
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#receive(channel, message))
    try {
      await this.#bothReady()
      await publisher.set(livenessKey(this.#prefix, this.instance), '1', 'PX', this.#livenessTtlMs)
    } catch (error) {
      this.#state = 'closed'
      publisher.disconnect()
      subscriber.disconnect()
      throw error
    }
    this.#state = 'open'
    this.#timer = setInterval(() => void this.#tick(), this.#heartbeatMs)
    this.#timer.unref()
  }

  publish(document: string, message: BusMessage): void {
    const publisher = this.#publisher
    if (this.#state !== 'open' || publisher === undefined || !this.#ready.publisher) {
      this.#dropped++
      return
    }
    const frame = encodeBusFrame(this.instance, message)
    this.#published++
    const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
    publisher.publish(documentChannel(this.#prefix, document), bytes)
      .catch(() => {
        // The connection went while the command was out; the outage is logged once and
        // `resync` covers what it dropped.
        this.#dropped++
      })
  }

  subscribe(document: string, listener: BusListener, onActive?: () => void): () => void {
    const { first, remove } = this.#listeners.add(document, listener)
    const channel = documentChannel(this.#prefix, document)
    if (first) {
      this.#channels.set(channel, document)
      this.#subscribing.set(channel, this.#command((subscriber) => subscriber.subscribe(channel), 'subscribe'))
    }
    let removed = false
    if (onActive !== undefined) {
      // Redis confirms a SUBSCRIBE once messages to the channel reach this connection.
      void this.#subscribing.get(channel)?.then((confirmed) => {
        if (confirmed && !removed) onActive()
      })
    }
    return () => {
      removed = true
      if (!remove()) return
      this.#channels.delete(channel)
      this.#subscribing.delete(channel)
      void this.#command((subscriber) => subscriber.unsubscribe(channel), 'unsubscribe')
    }
  }

  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    this.#listeners.on(event, listener)
  }

  status(): BusStatus {
    if (this.#state === 'new') return { ready: false, reason: 'the Redis bus is not open yet' }
    if (this.#state === 'closed') return { ready: false, reason: 'the Redis bus is closed' }
    for (const connection of ['publisher', 'subscriber'] as const) {
      if (!this.#ready[connection]) {
        const error = this.#lastError[connection]
        return {
          ready: false,
          reason: `the Redis ${connection} connection to ${this.#host} is down${error === undefined ? '' : ` (${error})`}`,
        }
      }
    }
    return { ready: true }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return
    const wasOpen = this.#state !== 'new'
    this.#state = 'closed'
    clearInterval(this.#timer)
    const publisher = this.#publisher
    const subscriber = this.#subscriber
    if (!wasOpen || publisher === undefined || subscriber === undefined) return
    if (this.#ready.publisher) {
      try {
        await publisher.del(livenessKey(this.#prefix, this.instance))
      } catch (error) {
        // The key lapses on its own within livenessTtlMs; the others notice then.
        this.#logger?.warn({ err: error, host: this.#host }, 'could not remove the bus liveness key on close')
      }
    }
    this.#ready.publisher = false
    this.#ready.subscriber = false
    publisher.disconnect()
    subscriber.disconnect()
  }

  #watch(connection: Connection, redis: Redis, onReady: () => void): void {
    redis.on('ready', onReady)
    redis.on('error', (error: Error) => {
      // ioredis repeats the same error on every reconnection attempt: log each kind once.
      if (this.#lastError[connection] === error.message) return
      this.#lastError[connection] = error.message
      if (this.#state === 'open') this.#logger?.warn({ err: error, host: this.#host, connection }, 'Redis bus connection error')
    })
    redis.on('close', () => {
      const wasReady = this.#ready[connection]
      this.#ready[connection] = false
      if (this.#state !== 'open' || !wasReady) return
      if (!this.#lost) this.#logger?.warn({ host: this.#host, connection }, 'lost the Redis bus: messages are dropped until it is back')
      this.#lost = true
    })
  }

  #publisherReady(): void {
    this.#lastError.publisher = undefined
    this.#ready.publisher = true
    this.#readyChanged()
  }

  #subscriberReady(): void {
    const subscriber = this.#subscriber
    if (subscriber === undefined) return
    const channels = [...this.#channels.keys()]
    const confirmed = channels.length === 0 ? Promise.resolve() : subscriber.subscribe(...channels)
    confirmed.then(() => {
      if (subscriber.status !== 'ready') return
      this.#lastError.subscriber = undefined
      this.#ready.subscriber = true
      this.#readyChanged()
    }, (error: unknown) => {
      // The connection went again; its next 'ready' subscribes again.
      this.#lastError.subscriber = error instanceof Error ? error.message : String(error)
    })
  }

  #readyChanged(): void {
    this.#onReadyChange?.()
    if (this.#state !== 'open' || !this.#lost || !this.#ready.publisher || !this.#ready.subscriber) return
    this.#lost = false
    this.#logger?.info({ host: this.#host }, 'the Redis bus is back')
    // Renew liveness at once: after a long outage the others may have forgotten this instance.
    void this.#tick()
    this.#listeners.emit('resync')
  }

  #bothReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => {
        this.#onReadyChange = undefined
        const error = this.#lastError.publisher ?? this.#lastError.subscriber
        reject(new BusUnreachableError(
          `Redis at ${this.#host} (REDIS_URL) could not be reached within ${this.#openTimeoutMs} ms${error === undefined ? '' : `: ${error}`}`,
        ))
      }, this.#openTimeoutMs)
      this.#onReadyChange = () => {
        if (!this.#ready.publisher || !this.#ready.subscriber) return
        clearTimeout(timeout)
        this.#onReadyChange = undefined
        resolve()
      }
      this.#publisher?.connect().catch(() => {
        // Reconnection goes on by itself; the timeout above reports a lasting failure.
      })
      this.#subscriber?.connect().catch(() => {
        // As above.
      })
    })
  }

  /** Sends a subscription change now if the subscriber is up; otherwise its next 'ready' resubscribes. */
  /** Sends a command on the subscriber connection; resolves with whether Redis confirmed it. */
  #command(send: (subscriber: Redis) => Promise<unknown>, what: string): Promise<boolean> {
    const subscriber = this.#subscriber
    if (subscriber === undefined || subscriber.status !== 'ready') return Promise.resolve(false)
    return send(subscriber).then(() => true, (error: unknown) => {
      this.#lastError.subscriber = error instanceof Error ? error.message : String(error)
      this.#logger?.warn({ err: error, host: this.#host }, `Redis bus ${what} failed; it is retried on reconnect`)
      return false
    })
  }

  #receive(channel: Buffer, bytes: Buffer): void {
    const document = this.#channels.get(channel.toString('utf8'))
    if (document === undefined) return
    let frame
    try {
      frame = decodeBusFrame(bytes)
    } catch (error) {
      this.#malformed++
      this.#logger?.warn({ err: error, document, bytes: bytes.length }, 'dropped a malformed bus message')
      return
    }
    if (frame.from === this.instance) return
    this.#heard.set(frame.from, this.#generation)
    this.#listeners.deliver(document, frame.message, frame.from)
  }

  /**
   * Renews this instance's liveness key and reads the keys of every instance heard from,
   * in one round trip; an instance whose key is gone (and that was not heard from since the
   * read was sent) is down.
   */
  async #tick(): Promise<void> {
    const publisher = this.#publisher
    if (this.#state !== 'open' || publisher === undefined || !this.#ready.publisher || this.#checking) return
    this.#checking = true
    const generation = ++this.#generation
    const instances = [...this.#heard.keys()]
    const pipeline = publisher.pipeline().set(livenessKey(this.#prefix, this.instance), '1', 'PX', this.#livenessTtlMs)
    const keys = instances.map((instance) => livenessKey(this.#prefix, instance))
    if (keys.length > 0) pipeline.mget(...keys)
    try {
      const results = await pipeline.exec()
      const values = instances.length > 0 ? results?.[1] : undefined
      if (values === undefined || values[0] !== null || !Array.isArray(values[1])) return
      const alive = values[1] as (string | null)[]
      for (const [index, instance] of instances.entries()) {
        if (alive[index] !== null) continue
        if ((this.#heard.get(instance) ?? generation) >= generation) continue
        this.#heard.delete(instance)
        if (this.#state === 'open') this.#listeners.emit('instanceDown', instance)
      }
    } catch {
      // Redis went away mid-check; the 'close' handler has logged it and the next tick retries.
    } finally {
      this.#checking = false
    }
  }
}

function connectionOptions() {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    // After close() has had its DEL answered nothing is left to flush; ioredis would otherwise
    // keep a stream that is already gone waiting 2 s, holding the process open.
    disconnectTimeout: 100,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
  }
}
