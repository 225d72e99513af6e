import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DocumentStore } from '@tandem/persistence/document-store'
import { LevelDbStore } from '@tandem/persistence/leveldb-store'
import { pino } from 'pino'
import { startTandem, type Tandem, type TandemOptions } from '../tandem.js'

/** A temporary data directory, removed by `dispose`. */
export async function temporaryDirectory(): Promise<{ path: string, dispose(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'tandem-test-'))
  return { path, dispose: () => rm(path, { recursive: true, force: true }) }
}

export type TestServerOptions = Partial<Omit<TandemOptions, 'store' | 'logger'>> & {
  /** Defaults to a LevelDbStore in `dataDir`. */
  readonly store?: DocumentStore
  readonly dataDir?: string
}

/** A real Tandem on port 0 of 127.0.0.1, with a real LevelDB unless a store is given. */
export async function startTestServer(
  options: TestServerOptions = {},
): Promise<Tandem & { wsUrl: string }> {
  const store =
    options.store ?? new LevelDbStore(options.dataDir ?? (await temporaryDirectory()).path)
  const tandem = await startTandem({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: 16 * 1024 * 1024,
    unloadDelayMs: 30_000,
    pingIntervalMs: 30_000,
    ...options,
    store,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  })
  return { ...tandem, wsUrl: `${tandem.url.replace('http', 'ws')}/collab` }
}
