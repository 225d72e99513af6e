import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DocumentStore } from '@tandem/persistence/document-store'
import { LevelDbStore } from '@tandem/persistence/leveldb-store'
import { pino } from 'pino'
import { startTandem, type Tandem, type TandemOptions } from '../tandem.js'

// Directories not disposed yet; a test that fails before disposing its own still leaves
// none behind once the test process exits.
const undisposed = new Set<string>()
process.once('exit', () => {
  for (const path of undisposed) rmSync(path, { recursive: true, force: true })
})

/** A temporary data directory, removed by `dispose` or else when the process exits. */
export async function temporaryDirectory(): Promise<{ path: string, dispose(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'tandem-test-'))
  undisposed.add(path)
  return {
    path,
    dispose: async () => {
      await rm(path, { recursive: true, force: true })
      undisposed.delete(path)
    },
  }
}

export type TestServerOptions = Partial<Omit<TandemOptions, 'store'>> & {
  /** Defaults to a LevelDbStore in `dataDir`. */
  readonly store?: DocumentStore
  readonly dataDir?: string
}

/**
 * A real Tandem on port 0 of 127.0.0.1, with a real LevelDB unless a store is given. When
 * neither a store nor a `dataDir` is given, the LevelDB lives in a temporary directory that
 * `stop()` removes.
 */
export async function startTestServer(
  options: TestServerOptions = {},
): Promise<Tandem & { wsUrl: string }> {
  const ownDirectory =
    options.store === undefined && options.dataDir === undefined ? await temporaryDirectory() : null
  const store = options.store ?? new LevelDbStore(options.dataDir ?? ownDirectory!.path)
  let tandem: Tandem
  try {
    tandem = await startTandem({
      host: '127.0.0.1',
      port: 0,
      maxMessageBytes: 16 * 1024 * 1024,
      unloadDelayMs: 30_000,
      pingIntervalMs: 30_000,
      ...options,
      store,
      logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    })
  } catch (error) {
    if (ownDirectory !== null) {
      await store.close()
      await ownDirectory.dispose()
    }
    throw error
  }
  const started = tandem
  return {
    ...started,
    wsUrl: `${started.url.replace('http', 'ws')}/collab`,
    stop: async (code) => {
      try {
        await started.stop(code)
      } finally {
        await ownDirectory?.dispose()
      }
    },
  }
}
