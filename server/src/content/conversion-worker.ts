import { parentPort } from 'node:worker_threads'
import type { ConversionJob, WorkerReply, WorkerRequest } from './conversion-jobs.js'
import { exportContent, parseContent, replacementUpdate } from './formats.js'

// A worker of conversion-pool.ts: one job at a time, as long as the pool lets it run.

function run(job: ConversionJob): string | Uint8Array {
  switch (job.type) {
    case 'import':
      return JSON.stringify(parseContent(job.kind, job.body))
    case 'export':
      return exportContent(job.state, job.format)
    case 'replace':
      return replacementUpdate(job.state, typeof job.content === 'string' ? JSON.parse(job.content) : job.content)
  }
}

const port = parentPort!
const reply = (message: WorkerReply) => port.postMessage(message)

port.on('message', ({ id, job }: WorkerRequest) => {
  try {
    reply({ type: 'done', id, result: run(job) })
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error))
    reply({ type: 'failed', id, error: { name, message } })
  }
})
reply({ type: 'ready' })
