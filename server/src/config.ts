import { readFileSync } from 'node:fs'
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { z } from 'zod'
import { checkWebhookUrl, WebhookTargetError } from './webhooks/target-guard.js'

const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535')
const positiveInteger = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .positive('must be positive')
const milliseconds = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must not be negative')

/** A URL with one of `protocols` (colon included); errors never repeat it (it may hold a password). */
const serviceUrl = (protocols: readonly string[], example: string) => z
  .string()
  .refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol)
    } catch {
      return false
    }
  }, { message: `must be a URL like ${example}` })
  .optional()

const origins = z
  .string()
  .transform((value, context) => {
    const list = value.split(',').map((origin) => origin.trim()).filter(Boolean)
    for (const origin of list) {
      let parsed: URL | null = null
      try {
        parsed = new URL(origin)
      } catch {
        // reported below
      }
      if (parsed === null || parsed.origin !== origin) {
        context.addIssue({ code: 'custom', message: `must be origins like https://example.com, not ${origin}` })
        return z.NEVER
      }
    }
    return new Set(list)
  })
  .optional()

const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true')

const schema = z.object({
  PORT: port.default(1234),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  MAX_MESSAGE_BYTES: positiveInteger.default(16 * 1024 * 1024),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  UNLOAD_DELAY_MS: milliseconds.default(30_000),
  PING_INTERVAL_MS: positiveInteger.default(30_000),
  VERSION_INTERVAL_MS: positiveInteger.default(10 * 60_000),
  VERSION_RETENTION: positiveInteger.optional(),
  AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ALLOWED_ORIGINS: origins,
  FRAME_ANCESTORS: origins,
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ALLOW_ANONYMOUS: flag.default(false),
  NODE_ENV: z.string().default('development'),
  RATE_LIMIT_PER_SECOND: positiveInteger.default(200),
  RATE_LIMIT_BURST: positiveInteger.default(2000),
  MAX_CONNECTIONS: positiveInteger.optional(),
  SYNC_WRITES: flag.default(true),
  DATABASE_URL: serviceUrl(['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/database'),
  REDIS_URL: serviceUrl(['redis:', 'rediss:'], 'redis://host:6379'),
  REDIS_PREFIX: z.string().min(1).max(100).default('tandem:'),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  PUBLIC_URL: serviceUrl(['http:', 'https:'], 'https://tandem.example.com'),
  WEBHOOK_URL: serviceUrl(['http:', 'https:'], 'https://example.com/hooks/tandem'),
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be a Standard Webhooks secret: whsec_ and base64 of 24 bytes or more')
    .optional(),
  WEBHOOK_ALLOW_PRIVATE: flag.default(false),
})

export type Config = z.infer<typeof schema>

/** Every environment variable Tandem reads (a deployment's files are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape)

/** Variables never echoed in an error: they may hold secrets (URLs hold passwords). */
const SECRET = new Set(['AUTH_SECRET', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'WEBHOOK_URL', 'WEBHOOK_SECRET'])

/** A configuration variable has a bad value; the message is one line naming it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Reads the configuration from environment variables; empty values count as unset. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const values: Record<string, string> = {}
  for (const key of Object.keys(schema.shape)) {
    const value = env[key]
    if (value !== undefined && value.trim() !== '') values[key] = value.trim()
  }
  const result = schema.safeParse(values)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const name = String(issue.path[0])
    const shown = SECRET.has(name) ? '' : ` (got ${JSON.stringify(values[name])})`
    throw new ConfigError(`${name} ${issue.message}${shown}`)
  }
  const config = result.data
  if (config.REDIS_URL !== undefined && config.DATABASE_URL === undefined) {
    throw new ConfigError(
      'REDIS_URL needs DATABASE_URL: instances that share updates must share one store (set DATABASE_URL to a Postgres URL)',
    )
  }
  if ((config.WEBHOOK_URL === undefined) !== (config.WEBHOOK_SECRET === undefined)) {
    const [given, missing] = config.WEBHOOK_URL === undefined ? ['WEBHOOK_SECRET', 'WEBHOOK_URL'] : ['WEBHOOK_URL', 'WEBHOOK_SECRET']
    throw new ConfigError(`${missing} is missing: ${given} is set, and the webhook from the environment needs both`)
  }
  if (config.WEBHOOK_URL !== undefined) {
    try {
      checkWebhookUrl(config.WEBHOOK_URL, { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE })
    } catch (error) {
      if (!(error instanceof WebhookTargetError)) throw error
      throw new ConfigError(`WEBHOOK_URL is refused: ${error.message} (WEBHOOK_ALLOW_PRIVATE=true allows private targets)`)
    }
  }
  if ((config.TLS_CERT_FILE === undefined) !== (config.TLS_KEY_FILE === undefined)) {
    const [given, missing] = config.TLS_CERT_FILE === undefined
      ? ['TLS_KEY_FILE', 'TLS_CERT_FILE']
      : ['TLS_CERT_FILE', 'TLS_KEY_FILE']
    throw new ConfigError(`${missing} is missing: ${given} is set, and TLS needs both (PEM files), or neither`)
  }
  if (config.NODE_ENV === 'production' && config.AUTH_SECRET === undefined && !config.ALLOW_ANONYMOUS) {
    throw new ConfigError(
      'AUTH_SECRET is required when NODE_ENV=production (set ALLOW_ANONYMOUS=true to run without tokens)',
    )
  }
  return config
}

/** A PEM certificate chain and its private key, read from TLS_CERT_FILE and TLS_KEY_FILE. */
export interface TlsFiles {
  readonly cert: Buffer
  readonly key: Buffer
}

/**
 * Reads and checks the TLS files the configuration names, or `undefined` without TLS. A file
 * that cannot be read, is not PEM of the right kind, or a key that does not belong to the
 * certificate is a `ConfigError` naming the variable and the cause, so start-up stops before
 * listening rather than at the first handshake.
 */
export function readTlsFiles(config: Pick<Config, 'TLS_CERT_FILE' | 'TLS_KEY_FILE'>): TlsFiles | undefined {
  if (config.TLS_CERT_FILE === undefined || config.TLS_KEY_FILE === undefined) return undefined
  const cert = readVariableFile('TLS_CERT_FILE', config.TLS_CERT_FILE)
  const key = readVariableFile('TLS_KEY_FILE', config.TLS_KEY_FILE)
  const certificate = parsed('TLS_CERT_FILE', config.TLS_CERT_FILE, 'a PEM certificate', () => new X509Certificate(cert))
  const privateKey: KeyObject = parsed('TLS_KEY_FILE', config.TLS_KEY_FILE, 'a PEM private key', () => createPrivateKey(key))
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(`TLS_KEY_FILE ${config.TLS_KEY_FILE} is not the key of the certificate in TLS_CERT_FILE ${config.TLS_CERT_FILE}`)
  }
  return { cert, key }
}

function readVariableFile(name: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new ConfigError(`${name} ${path} cannot be read: ${oneLine(error)}`)
  }
}

function parsed<T>(name: string, path: string, kind: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    throw new ConfigError(`${name} ${path} is not ${kind}: ${oneLine(error)}`)
  }
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ')
}
