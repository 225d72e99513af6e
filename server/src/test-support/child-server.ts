import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { withTimeout } from './clients.js'

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url))

/** Tandem's real entry point in a child process, as `npm start` runs it. */
export interface ChildServer {
  readonly process: ChildProcess
  readonly url: string
  readonly wsUrl: string
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stderr(): string
}

/** Spawns `main.ts` on a free port with `env`, collecting its stdout and stderr. */
function spawnMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=tandem-source', '--import', 'tsx', MAIN], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

/** A started `main.ts` that may not listen yet: `listening` resolves once it says it does. */
export interface StartingServer {
  readonly process: ChildProcess
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Its log so far (JSON lines on stdout). */
  stdout(): string
  stderr(): string
  /** Resolves with the server once it listens; rejects if it exits first or takes `timeoutMs`. */
  listening(timeoutMs?: number): Promise<ChildServer>
}

/** Runs `server/src/main.ts` with `env` on a free port, without waiting for it to listen. */
export function spawnChildServer(env: Record<string, string>): StartingServer {
  const { child, exited, stdout, stderr } = spawnMain(env)
  const url = new Promise<string>((resolve, reject) => {
    const look = () => {
      const match = /listening on (https?:\/\/[^"\s]+)/.exec(stdout())
      if (match) resolve(match[1]!)
    }
    child.stdout.on('data', look)
    void exited.then(() => reject(new Error(`server exited early: ${stderr()}`)))
  })
  url.catch(() => undefined)
  return {
    process: child,
    exited,
    stdout,
    stderr,
    listening: async (timeoutMs = 15_000) => {
      const found = await withTimeout(url, timeoutMs, 'the server did not start')
      return { process: child, url: found, wsUrl: `${found.replace('http', 'ws')}/collab`, exited, stderr }
    },
  }
}

/** Runs `server/src/main.ts` with `env` on a free port; resolves when it listens. */
export function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  return spawnChildServer(env).listening()
}

/** Runs `main.ts` expecting it to refuse to start; resolves with its exit code and stderr. */
export async function runRefusedServer(
  env: Record<string, string>,
): Promise<{ code: number | null, stderr: string }> {
  const { exited, stderr } = spawnMain(env)
  const { code } = await withTimeout(exited, 15_000, 'the server did not exit')
  return { code, stderr: stderr() }
}
