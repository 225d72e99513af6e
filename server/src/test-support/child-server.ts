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

/** Spawns `main.ts` on a free port with `env`, collecting its stderr. */
function spawnMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=tandem-source', '--import', 'tsx', MAIN], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  return { child, exited, stderr: () => stderr }
}

/** Runs `server/src/main.ts` with `env` on a free port; resolves when it listens. */
export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  const { child, exited, stderr } = spawnMain(env)
  const url = await withTimeout(
    new Promise<string>((resolve, reject) => {
      let stdout = ''
      child.stdout.on('data', (chunk) => {
        stdout += chunk
        const match = /listening on (http:\/\/[^"\s]+)/.exec(stdout)
        if (match) resolve(match[1]!)
      })
      void exited.then(() => reject(new Error(`server exited early: ${stderr()}`)))
    }),
    15_000,
    'the server did not start',
  )
  return {
    process: child,
    url,
    wsUrl: `${url.replace('http', 'ws')}/collab`,
    exited,
    stderr,
  }
}

/** Runs `main.ts` expecting it to refuse to start; resolves with its exit code and stderr. */
export async function runRefusedServer(
  env: Record<string, string>,
): Promise<{ code: number | null, stderr: string }> {
  const { exited, stderr } = spawnMain(env)
  const { code } = await withTimeout(exited, 15_000, 'the server did not exit')
  return { code, stderr: stderr() }
}
