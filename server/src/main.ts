import type { DocumentStore } from '@tandem/persistence/document-store'
import { LevelDbStore } from '@tandem/persistence/leveldb-store'
import { PostgresStore } from '@tandem/persistence/postgres-store'
import { JwtAuthenticator } from './auth/jwt-authenticator.js'
import { OpenAuthenticator } from './auth/open-authenticator.js'
import { ShareTokens } from './auth/share-tokens.js'
import type { Bus } from './bus/bus.js'
import { RedisBus } from './bus/redis-bus.js'
import { CloseCode } from './close-codes.js'
import { type Config, ConfigError, loadConfig, readTlsFiles } from './config.js'
import { createLogger } from './logger.js'
import { startTandem } from './tandem.js'

const SHUTDOWN_TIMEOUT_MS = 10_000
/** How long start-up waits for a DATA_DIR another process holds (the old one of a rolling restart). */
const LOCK_WAIT_MS = 10_000

function readConfig() {
  try {
    const config = loadConfig(process.env)
    return { config, tls: readTlsFiles(config) }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`tandem: invalid configuration: ${error.message}\n`)
    process.exit(1)
  }
}

const { config, tls } = readConfig()
const logger = createLogger(config.LOG_LEVEL)
const store = config.DATABASE_URL === undefined
  ? await openLevelDb(config)
  : await openService(`DATABASE_URL ${hostOf(config.DATABASE_URL)}`, async () => {
      const postgres = new PostgresStore({ connectionString: config.DATABASE_URL!, logger })
      await postgres.open()
      return postgres
    })
const bus: Bus | undefined = config.REDIS_URL === undefined
  ? undefined
  : await openService(`REDIS_URL ${hostOf(config.REDIS_URL)}`, async () => {
      const redis = new RedisBus({ url: config.REDIS_URL!, prefix: config.REDIS_PREFIX, logger })
      await redis.open()
      return redis
    })
if (config.DATABASE_URL !== undefined && bus === undefined) {
  logger.warn('DATABASE_URL without REDIS_URL: other instances on this database would see this one\'s edits only every few seconds, through the store; set REDIS_URL to run several')
}
if (config.AUTH_SECRET === undefined) {
  logger.warn('AUTH_SECRET is not set: open mode, anyone who can reach this server may edit every document')
}
const tandem = await startTandem({
  store,
  bus,
  logger,
  authenticator:
    config.AUTH_SECRET === undefined ? new OpenAuthenticator() : new JwtAuthenticator(config.AUTH_SECRET),
  allowedOrigins: config.ALLOWED_ORIGINS,
  shareTokens: config.AUTH_SECRET === undefined ? undefined : new ShareTokens(config.AUTH_SECRET),
  metricsToken: config.METRICS_TOKEN,
  frameAncestors: [...(config.FRAME_ANCESTORS ?? [])],
  messagesPerSecond: config.RATE_LIMIT_PER_SECOND,
  messageBurst: config.RATE_LIMIT_BURST,
  processMetrics: true,
  versionIntervalMs: config.VERSION_INTERVAL_MS,
  versionRetention: config.VERSION_RETENTION,
  host: config.HOST,
  port: config.PORT,
  maxMessageBytes: config.MAX_MESSAGE_BYTES,
  unloadDelayMs: config.UNLOAD_DELAY_MS,
  pingIntervalMs: config.PING_INTERVAL_MS,
  maxConnections: config.MAX_CONNECTIONS,
  publicUrl: config.PUBLIC_URL?.replace(/\/+$/, ''),
  webhooks: {
    environment: config.WEBHOOK_URL === undefined
      ? null
      : { url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET! },
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
  },
  tls,
})
logger.info(
  config.DATABASE_URL === undefined
    ? { url: tandem.url, dataDir: config.DATA_DIR }
    : { url: tandem.url, store: 'postgres', bus: bus === undefined ? 'none' : 'redis', instance: tandem.bus.instance },
  `Tandem is listening on ${tandem.url}`,
)

/**
 * A signal is a restart as clients see it (a rolling deploy, a scale-in): every write is
 * stored, then sockets close with 1012 so providers reconnect at once, to another replica.
 */
function shutdown(signal: NodeJS.Signals): void {
  logger.info({ signal }, 'shutting down')
  setTimeout(() => {
    logger.error('shutdown took too long; exiting')
    process.exit(1)
  }, SHUTDOWN_TIMEOUT_MS).unref()
  tandem.stop(CloseCode.serviceRestart).then(
    () => {
      logger.info('stopped')
      process.exit(0)
    },
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed')
      process.exit(1)
    },
  )
}

process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

/** DATA_DIR's LevelDB store, opened before listening: a server that cannot store must not say it is up. */
async function openLevelDb(config: Config): Promise<DocumentStore> {
  const store = new LevelDbStore(config.DATA_DIR, {
    syncWrites: config.SYNC_WRITES,
    onBackgroundError: (error) => logger.warn({ err: error }, 'background compaction failed; it is retried later'),
    // Writes keep failing (LevelDB stops writing for good after a background flush hit a full
    // disk): a new process opens the database again, so exit and let the supervisor restart it.
    onFatal: (error) => {
      logger.fatal({ err: error }, 'the store cannot write; exiting so the supervisor restarts the server')
      process.stderr.write(`tandem: the store cannot write, exiting: ${oneLine(error.message)}\n`)
      process.exit(1)
    },
  })
  if (!config.SYNC_WRITES) {
    logger.warn('SYNC_WRITES=false: acknowledged updates survive a killed process, not a power loss')
  }
  try {
    await store.open({
      lockWaitMs: LOCK_WAIT_MS,
      onLocked: (cause) => logger.warn(
        { dataDir: config.DATA_DIR, cause: cause.message },
        `DATA_DIR ${config.DATA_DIR} is locked by another process (a Tandem still stopping?); waiting up to ${LOCK_WAIT_MS / 1000} s`,
      ),
    })
  } catch (error) {
    process.stderr.write(`tandem: cannot open DATA_DIR ${config.DATA_DIR}: ${oneLine(causeOf(error).message)}\n`)
    process.exit(1)
  }
  return store
}

/** Connects to a service before listening; when it cannot, one line naming it, and exit. */
async function openService<T>(name: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open()
  } catch (error) {
    process.stderr.write(`tandem: cannot connect to ${name}: ${oneLine(causeOf(error).message)}\n`)
    process.exit(1)
  }
}

/** Where a service URL points, without its credentials. */
function hostOf(url: string): string {
  const parsed = new URL(url)
  return `(${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname})`
}

function causeOf(error: unknown): Error {
  const cause = (error as Error).cause
  return cause instanceof Error ? cause : error as Error
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}
