import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { WorkerConfig, WorkerResult } from './worker.js'

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url))

/** A load process (worker.ts) and what it reports. */
export interface LoadProcess {
  readonly child: ChildProcess
  /** Resolves once its clients are connected (and synced, where the target syncs). */
  readonly connected: Promise<{ connected: number, syncTimesMs: number[] }>
  /** Its result, or null if it exited without one. */
  readonly result: Promise<WorkerResult | null>
}

type Message = { type: 'connected', connected: number, syncTimesMs: number[] } | { type: 'result', result: WorkerResult }

/** Starts a load process with `config`. */
export function forkWorker(config: WorkerConfig): LoadProcess {
  const child = fork(workerPath, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const connected = new Promise<{ connected: number, syncTimesMs: number[] }>((resolve) => child.on('message', (message: Message) => {
    if (message.type === 'connected') resolve({ connected: message.connected, syncTimesMs: message.syncTimesMs })
  }))
  const result = new Promise<WorkerResult | null>((resolve) => {
    child.on('message', (message: Message) => {
      if (message.type === 'result') resolve(message.result)
    })
    child.on('exit', () => resolve(null))
  })
  return { child, connected, result }
}
