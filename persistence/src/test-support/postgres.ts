import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The server tests reach when DATABASE_URL is unset (the machine's own Postgres). */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'

/** A database made for one test or suite. */
export interface TemporaryDatabase {
  /** A connection string to it. */
  readonly url: string
  /** Drops it, closing whatever connections are left on it. */
  dispose(): Promise<void>
}

/**
 * Creates an empty database `tandem_test_<random>` on the server DATABASE_URL names. Throws,
 * naming DATABASE_URL, when that server cannot be reached: a test that needs Postgres fails
 * rather than passing without it. Call `dispose` from an `after` hook, so it runs when a
 * test fails too.
 */
export async function temporaryDatabase(): Promise<TemporaryDatabase> {
  const adminUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL
  const name = `tandem_test_${randomBytes(6).toString('hex')}`
  await asAdmin(adminUrl, async (client) => {
    // A database name cannot be a parameter; this one is made of [a-z0-9_] above.
    await client.query(`CREATE DATABASE ${name}`)
  })
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  let disposed: Promise<void> | undefined
  return {
    url: url.toString(),
    dispose: () => {
      disposed ??= asAdmin(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      })
      return disposed
    },
  }
}

async function asAdmin(adminUrl: string, work: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
  } catch (cause) {
    throw new Error(
      `Postgres is needed for this test and cannot be reached at DATABASE_URL=${redacted(adminUrl)}`
      + `${process.env.DATABASE_URL === undefined ? ' (unset, so the default)' : ''}: ${(cause as Error).message}`,
      { cause },
    )
  }
  try {
    await work(client)
  } finally {
    await client.end()
  }
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(not a URL)'
  }
}
