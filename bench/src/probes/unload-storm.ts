// A probe, not a benchmark: how long a live writer's updates take while 2,000 idle documents
// unload at once, then how long SIGTERM takes with 2,000 documents loaded.
//
//   npx tsc -b && node --import tsx bench/src/probes/unload-storm.ts [--documents 2000] [--sync true|false]
//
// The documents are written over HTTP (two stored updates each, so each has something to
// compact) and unload UNLOAD_DELAY_MS (15 s here) after their last write: once all are
// written, they unload as fast as they were written. Meanwhile a writer sets a map key every 20 ms on another document and
// a second client there times each relay: Tandem relays an update once it is stored, so the
// relay time bounds the writer's acknowledgement.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as Y from 'yjs'
import { launch, type Target, targets } from '../targets.js'
import { freePort } from '../free-port.js'
import { connectProvider, sleep, until } from './probe-clients.js'

const LIVE = 'unload-storm-live'
const root = fileURLToPath(new URL('../../../', import.meta.url))
const PING_MS = 20

const { values } = parseArgs({
  options: {
    documents: { type: 'string', default: '2000' },
    sync: { type: 'string', default: 'true' },
  },
})
const documents = Number(values.documents)
if (!Number.isInteger(documents) || documents < 1) throw new Error('--documents must be a whole number ≥ 1')
if (values.sync !== 'true' && values.sync !== 'false') throw new Error('--sync must be true or false')
const UNLOAD_DELAY_MS = 15_000
// The bench's Tandem, with documents kept loaded long enough to write them all first.
const target: Target = {
  ...targets.tandem!,
  start: (port, dataDir) => spawn(process.execPath, [join(root, 'server/dist/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      NODE_ENV: 'development',
      UNLOAD_DELAY_MS: String(UNLOAD_DELAY_MS),
      SYNC_WRITES: values.sync,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  }),
}

/** The update `change` makes to `doc`. */
function captureUpdate(doc: Y.Doc, change: () => void): Uint8Array {
  const updates: Uint8Array[] = []
  const listener = (update: Uint8Array) => updates.push(update)
  doc.on('update', listener)
  change()
  doc.off('update', listener)
  return Y.mergeUpdates(updates)
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN
}

function summary(label: string, latencies: readonly number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b)
  return `${label}: ${sorted.length} updates, p50 ${percentile(sorted, 50).toFixed(1)} ms, `
    + `p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? Number.NaN).toFixed(1)} ms`
}

const port = await freePort()
const server = await launch(target, port)
const base = `http://127.0.0.1:${port}`
const wsUrl = target.urlTemplate(port).replace('/{doc}', '')

const writerDoc = new Y.Doc()
const readerDoc = new Y.Doc()
const writer = connectProvider(wsUrl, LIVE, writerDoc, '')
const reader = connectProvider(wsUrl, LIVE, readerDoc, '')
await until(() => writer.synced && reader.synced, 10_000, 'the live document did not sync')

let phase: 'load' | 'storm' = 'load'
const latencies = { load: [] as number[], storm: [] as number[] }
const sentAt = new Map<string, number>()
readerDoc.getMap('pings').observe((event) => {
  for (const key of event.keysChanged) {
    const sent = sentAt.get(key)
    if (sent !== undefined) latencies[phase].push(performance.now() - sent)
    sentAt.delete(key)
  }
})
let pings = 0
const pinger = setInterval(() => {
  const key = `p${pings++}`
  sentAt.set(key, performance.now())
  writerDoc.getMap('pings').set(key, pings)
}, PING_MS)

// Two stored updates per document, written 100 documents at a time.
const seed = new Y.Doc()
const first = captureUpdate(seed, () => seed.getText('text').insert(0, 'first'))
const second = captureUpdate(seed, () => seed.getText('text').insert(5, ' second'))
const names = Array.from({ length: documents }, (_, i) => `unload-storm-${i}`)
const loadStarted = performance.now()
for (let start = 0; start < names.length; start += 100) {
  await Promise.all(names.slice(start, start + 100).map(async (name) => {
    for (const body of [first, second]) {
      const response = await fetch(`${base}/api/documents/${name}/content`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        body,
      })
      if (!response.ok) throw new Error(`${name}: ${response.status}`)
    }
  }))
}
const loadMs = performance.now() - loadStarted

// Unloading starts UNLOAD_DELAY_MS after the first ones were written.
await sleep(UNLOAD_DELAY_MS - loadMs - 1000)
phase = 'storm'
const loaded = async () => {
  const metrics = await (await fetch(`${base}/metrics`)).text()
  return Number(/^tandem_documents_loaded(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN)
}
const stormStarted = performance.now()
for (;;) {
  // The live document stays loaded.
  if ((await loaded()) <= 1) break
  if (performance.now() - stormStarted > 120_000) throw new Error('the documents did not unload within 120 s')
  await sleep(100)
}
const stormMs = performance.now() - stormStarted
// Updates sent during the storm that are still on their way.
await sleep(500)
clearInterval(pinger)
writer.destroy()
reader.destroy()

console.log(`${target.name}, SYNC_WRITES=${values.sync}, ${documents} documents`)
console.log(`written in ${(loadMs / 1000).toFixed(1)} s; unloaded within ${(stormMs / 1000).toFixed(1)} s`)
console.log(summary('live writer while writing them', latencies.load))
console.log(summary('live writer while they unload', latencies.storm))
if (sentAt.size > 0) console.log(`${sentAt.size} updates never relayed`)

// Shutdown with them loaded: write them again, then SIGTERM at once.
for (let start = 0; start < names.length; start += 100) {
  await Promise.all(names.slice(start, start + 100).map(async (name) => {
    await fetch(`${base}/api/documents/${name}/content`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: second,
    })
  }))
}
console.log(`loaded before SIGTERM: ${await loaded()}`)
const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)))
const stopStarted = performance.now()
server.process.kill('SIGTERM')
const code = await exited
console.log(`SIGTERM: exit code ${code} after ${(performance.now() - stopStarted).toFixed(0)} ms`)
await server.stop()
process.exit(0)
