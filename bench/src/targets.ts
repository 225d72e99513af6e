import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Protocol } from './load/frames.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** A server the same scenario runs against. */
export interface Target {
  readonly name: string
  readonly protocol: Protocol
  /** Whether the server answers sync step 1 (the raw relay does not). */
  readonly syncs: boolean
  /** Whether documents live in a LevelDB directory (the cold-load scenario needs one). */
  readonly leveldb: boolean
  urlTemplate(port: number): string
  start(port: number, dataDir: string): ChildProcess
}

// BENCH_NODE_ARGS: flags for every server's node, e.g. `--cpu-prof --cpu-prof-dir=prof`, or
// `--perf-basic-prof` for `perf record`.
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter((arg) => arg !== '') ?? []

const node = (args: string[], env: Record<string, string>) =>
  spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })

const yWebsocketServer = join(root, 'node_modules/@y/websocket-server/src/server.js')

/** Tandem's built server, with `env` on top of the bench's settings. */
function tandem(name: string, env: Record<string, string>): Target {
  return {
    name,
    protocol: 'y-websocket',
    syncs: true,
    leveldb: true,
    urlTemplate: (port) => `ws://127.0.0.1:${port}/collab/{doc}`,
    start: (port, dataDir) => node([join(root, 'server/dist/main.js')], {
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // The bench measures throughput, not the abuse limits.
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      NODE_ENV: 'development',
      UNLOAD_DELAY_MS: '1000',
      ...env,
    }),
  }
}

/**
 * One instance of a Tandem cluster: Postgres store, Redis bus (`env` names them), spoken to
 * through the Hocuspocus protocol on `/collab` so that Hocuspocus runs the same load.
 */
export function tandemClusterInstance(env: Record<string, string>): Target {
  return {
    ...tandem('Tandem (Postgres + Redis)', env),
    protocol: 'hocuspocus',
    leveldb: false,
    urlTemplate: (port) => `ws://127.0.0.1:${port}/collab`,
  }
}

/** One instance of Hocuspocus 4.7 with `@hocuspocus/extension-redis` (REDIS_URL, REDIS_PREFIX in `env`). */
export function hocuspocusRedisInstance(env: Record<string, string>): Target {
  return {
    name: '@hocuspocus/server 4.7 + extension-redis (stores nothing)',
    protocol: 'hocuspocus',
    syncs: true,
    leveldb: false,
    urlTemplate: (port) => `ws://127.0.0.1:${port}`,
    start: (port) => node([join(root, 'bench/src/servers/hocuspocus-redis.mjs')], { PORT: String(port), ...env }),
  }
}

export const targets: Record<string, Target> = {
  'tandem': tandem('Tandem (LevelDB)', {}),
  // The same without fsync (SYNC_WRITES=false): what syncing each group commit costs.
  'tandem-nosync': tandem('Tandem (LevelDB, SYNC_WRITES=false)', { SYNC_WRITES: 'false' }),
  'y-websocket-server': {
    name: '@y/websocket-server 0.1.1',
    protocol: 'y-websocket',
    syncs: true,
    leveldb: false,
    urlTemplate: (port) => `ws://127.0.0.1:${port}/{doc}`,
    start: (port) => node([yWebsocketServer], { HOST: '127.0.0.1', PORT: String(port) }),
  },
  'y-websocket-server-leveldb': {
    name: '@y/websocket-server 0.1.1 + y-leveldb',
    protocol: 'y-websocket',
    syncs: true,
    leveldb: true,
    urlTemplate: (port) => `ws://127.0.0.1:${port}/{doc}`,
    start: (port, dataDir) => node([yWebsocketServer], { HOST: '127.0.0.1', PORT: String(port), YPERSISTENCE: dataDir }),
  },
  'hocuspocus': {
    name: '@hocuspocus/server 4.7 (memory)',
    protocol: 'hocuspocus',
    syncs: true,
    leveldb: false,
    urlTemplate: (port) => `ws://127.0.0.1:${port}`,
    start: (port) => node([join(root, 'bench/src/servers/hocuspocus.mjs')], { PORT: String(port) }),
  },
  'relay': {
    name: 'raw relay (no CRDT)',
    protocol: 'y-websocket',
    syncs: false,
    leveldb: false,
    urlTemplate: (port) => `ws://127.0.0.1:${port}/{doc}`,
    start: (port) => node([join(root, 'bench/src/servers/relay.mjs')], { PORT: String(port) }),
  },
}

/** Starts a target on a fresh port and data directory; resolves when it accepts connections. */
export async function launch(
  target: Target,
  port: number,
  prepare?: (dataDir: string) => Promise<void>,
): Promise<{ process: ChildProcess, dataDir: string, stop(removeData?: boolean): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-'))
  await prepare?.(dataDir)
  const child = target.start(port, dataDir)
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target.name} exited with ${child.exitCode}`)
    if (await accepts(port)) break
    if (Date.now() > deadline) throw new Error(`${target.name} did not start`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    process: child,
    dataDir,
    stop: async (removeData = true) => {
      // A server without a SIGTERM handler dies of the signal: no exit code, but exited.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        // SIGTERM first, so a server started with --cpu-prof can write its profile.
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      if (removeData) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
