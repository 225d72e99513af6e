// `npm run bench`: the same scenarios against Tandem and the servers people use today, in
// one invocation, reported as ratios (absolute numbers drift on a shared 2-core machine).
import { execSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { LevelDbStore } from '@tandem/persistence/leveldb-store'
import { clusterSection } from './cluster/cluster-scenario.js'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { forkWorker, type LoadProcess } from './load/fork-worker.js'
import type { WorkerResult } from './load/worker.js'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { freePort } from './free-port.js'
import { Frames } from './load/frames.js'
import { cpuSeconds, memory } from './proc-stats.js'
import { median, percentile } from './statistics.js'
import { launch, type Target, targets } from './targets.js'
import { within } from './within.js'

interface Scenario {
  readonly name: string
  readonly description: string
  readonly documents: number
  readonly clientsPerDocument: number
  readonly writersPerDocument: number
  readonly writeRate: number
  readonly awarenessRate: number
  /** Idle: connect everyone, measure memory, write nothing. */
  readonly idle?: boolean
  /** Join storm: seed a document of this many bytes, then every client joins at once. */
  readonly stormBytes?: number
  /** Cold load: a document stored as this many updates, loaded by one client after start. */
  readonly storedUpdates?: number
  /** Saturation: these write rates in turn, until p99 passes 50 ms or an update is lost. */
  readonly rates?: readonly number[]
}

const scenarios: Record<string, Scenario> = {
  fanout: {
    name: 'fan-out',
    description: '1 document, 200 clients, 5 writers at 20 updates/s',
    documents: 1,
    clientsPerDocument: 200,
    writersPerDocument: 5,
    writeRate: 20,
    awarenessRate: 0,
  },
  presence: {
    name: 'many documents with presence',
    description: '200 documents × 5 clients, 1 writer at 5/s each, awareness at 1 Hz from everyone',
    documents: 200,
    clientsPerDocument: 5,
    writersPerDocument: 1,
    writeRate: 5,
    awarenessRate: 1,
  },
  storm: {
    name: 'join storm',
    description: '150 clients join one 5 MB document at the same moment',
    documents: 1,
    clientsPerDocument: 150,
    writersPerDocument: 0,
    writeRate: 1,
    awarenessRate: 0,
    idle: true,
    stormBytes: 5 * 1024 * 1024,
  },
  saturation: {
    name: 'saturation',
    description: '1 document, 50 clients, 10 writers; the write rate doubles until p99 passes 50 ms',
    documents: 1,
    clientsPerDocument: 50,
    writersPerDocument: 10,
    writeRate: 10,
    awarenessRate: 0,
    rates: [10, 20, 40, 80, 160, 320, 640, 1280],
  },
  cold: {
    name: 'cold load',
    description: 'a document stored as 100,000 updates: first sync after a start, bytes on disk after compaction',
    documents: 1,
    clientsPerDocument: 1,
    writersPerDocument: 0,
    writeRate: 1,
    awarenessRate: 0,
    storedUpdates: 100_000,
  },
  idle: {
    name: 'idle memory',
    description: '5,000 connections over 1,000 documents',
    documents: 1000,
    clientsPerDocument: 5,
    writersPerDocument: 0,
    writeRate: 1,
    awarenessRate: 0,
    idle: true,
  },
}

const smokeScenario: Scenario = {
  name: 'smoke',
  description: '2 documents × 4 clients, 1 writer at 10/s (harness check only)',
  documents: 2,
  clientsPerDocument: 4,
  writersPerDocument: 1,
  writeRate: 10,
  awarenessRate: 1,
}

interface Row {
  target: string
  /** Saturation: the most deliveries a second with p99 ≤ 50 ms and nothing lost, and at which rate. */
  sustained: number
  sustainedRate: number
  coldSyncMs: number
  diskKb: number
  stateKb: number
  stormMs: number
  /** Join storm: CPU seconds the server spent until every joiner had the document. */
  stormCpuS: number
  peakMb: number
  connected: number
  delivered: number
  expected: number
  p50: number
  p99: number
  cpuMicrosPerUpdate: number
  rssMb: number
  rssPerConnectionKb: number
  syncP50: number
}

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'fanout,presence,storm,saturation,idle,cold' },
    targets: { type: 'string', default: 'tandem,relay,y-websocket-server,y-websocket-server-leveldb,hocuspocus' },
    measure: { type: 'string', default: '15' },
    /** Seconds of load before the measured window: JIT compilation settles in it. */
    warmup: { type: 'string', default: '15' },
    workers: { type: 'string', default: '1' },
    /** Runs of every scenario against every server, interleaved; the table shows medians. */
    rounds: { type: 'string', default: '1' },
    smoke: { type: 'boolean', default: false },
    /** Replace only the sections of the scenarios run in RESULTS.md and keep the others. */
    update: { type: 'boolean', default: false },
  },
})

async function runOne(
  scenario: Scenario,
  target: Target,
  measureMs: number,
  warmupMs: number,
  workerCount: number,
): Promise<Row> {
  if (scenario.storedUpdates !== undefined) return coldLoad(scenario.storedUpdates, target)
  if (scenario.rates !== undefined) return saturate(scenario, target, workerCount)
  const port = await freePort()
  const server = await launch(target, port)
  const pid = server.process.pid!
  await new Promise((resolve) => setTimeout(resolve, 500))
  const baseline = memory(pid).rss
  if (scenario.stormBytes !== undefined && !target.syncs) {
    await server.stop()
    return empty(target, 0)
  }
  const documents = Array.from({ length: scenario.documents }, (_, index) => `bench-${scenario.name.replace(/\W+/g, '-')}-${index}`)
  const seeder = scenario.stormBytes === undefined ? null : await seed(target, port, documents[0]!, scenario.stormBytes)
  const cpuBefore = cpuSeconds(pid)
  const loads: LoadProcess[] = []
  for (let w = 0; w < workerCount; w++) {
    loads.push(forkWorker({
      urlTemplate: target.urlTemplate(port),
      protocol: target.protocol,
      documents: documents.filter((_, index) => index % workerCount === w),
      clientsPerDocument: scenario.clientsPerDocument,
      writersPerDocument: scenario.writersPerDocument,
      writeRate: scenario.writeRate,
      awarenessRate: scenario.awarenessRate,
      warmupMs,
      measureMs,
      drainMs: 2000,
      waitForSync: target.syncs,
      holdOnly: scenario.idle ?? false,
    }))
  }
  const workers = loads.map((load) => load.child)
  const results = loads.map((load) => load.result)
  const connected = loads.map((load) => load.connected)
  const ready = await within(Promise.all(connected), CONNECT_LIMIT_MS)
  if (ready === null) {
    process.stderr.write(`${target.name}: clients not all synced within ${CONNECT_LIMIT_MS / 1000} s; no result\n`)
    for (const child of workers) child.kill()
    seeder?.terminate()
    await server.stop()
    return empty(target, 0)
  }
  const connections = ready.reduce((sum, worker) => sum + worker.connected, 0)
  let row: Row
  if (scenario.idle) {
    if (scenario.stormBytes === undefined) await new Promise((resolve) => setTimeout(resolve, 3000))
    const { rss, peak } = memory(pid)
    for (const child of workers) child.send('stop')
    await Promise.all(results)
    seeder?.terminate()
    row = empty(target, connections)
    row.rssMb = rss / 2 ** 20
    row.peakMb = peak / 2 ** 20
    row.rssPerConnectionKb = (rss - baseline) / connections / 1024
    row.stormMs = Math.max(...ready.flatMap((worker) => worker.syncTimesMs))
    row.stormCpuS = cpuSeconds(pid) - cpuBefore
  } else {
    await new Promise((resolve) => setTimeout(resolve, warmupMs))
    const cpuStart = cpuSeconds(pid)
    await new Promise((resolve) => setTimeout(resolve, measureMs))
    const cpuEnd = cpuSeconds(pid)
    const { rss } = memory(pid)
    const done = (await Promise.all(results)).filter((result): result is WorkerResult => result !== null)
    const latencies = done.flatMap((result) => result.latenciesMs).sort((a, b) => a - b)
    const syncs = done.flatMap((result) => result.syncTimesMs).sort((a, b) => a - b)
    const delivered = done.reduce((sum, result) => sum + result.delivered, 0)
    row = {
      ...empty(target, connections),
      delivered,
      expected: done.reduce((sum, result) => sum + result.expected, 0),
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      cpuMicrosPerUpdate: delivered === 0 ? Number.NaN : ((cpuEnd - cpuStart) * 1e6) / delivered,
      rssMb: rss / 2 ** 20,
      syncP50: percentile(syncs, 0.5),
    }
  }
  await server.stop()
  return row
}

/** How long every client of a run may take to connect and sync before the run is given up. */
const CONNECT_LIMIT_MS = 120_000

const SATURATION_STEP_MS = 5000
const SATURATION_WARMUP_MS = 1000

/** Runs the scenario at each rate in turn; keeps the last rate that held p99 ≤ 50 ms with no loss. */
async function saturate(scenario: Scenario, target: Target, workerCount: number): Promise<Row> {
  let best = empty(target, 0)
  for (const writeRate of scenario.rates!) {
    const step = { ...scenario, rates: undefined, writeRate }
    const row = await runOne(step, target, SATURATION_STEP_MS, SATURATION_WARMUP_MS, workerCount)
    const lost = row.expected - row.delivered
    process.stderr.write(`  ${writeRate} updates/s per writer: p99 ${fixed(row.p99)} ms, ${lost} of ${row.expected} lost\n`)
    if (!(row.p99 <= 50) || row.delivered < row.expected) break
    best = { ...row, sustained: row.delivered / (SATURATION_STEP_MS / 1000), sustainedRate: writeRate }
  }
  return best
}

const COLD_LOAD_LIMIT_MS = 60_000

/**
 * A document stored as `count` small updates (what a server that never compacts leaves
 * behind), in y-leveldb's layout, which both LevelDB servers read. Measures the first sync
 * after a start, then the directory after the server compacted and stopped.
 */
async function coldLoad(count: number, target: Target): Promise<Row> {
  const row = empty(target, 1)
  if (!target.leveldb) return row
  const doc = new Y.Doc()
  const text = doc.getText('text')
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (let i = 0; i < count; i++) {
    text.insert(text.length, `word${i % 10} `)
    if (i % 10 === 9) text.delete(0, 3)
  }
  const prepare = async (dataDir: string) => {
    const store = new LevelDbStore(dataDir, { compactAfter: Number.POSITIVE_INFINITY })
    for (let i = 0; i < updates.length; i += 1000) {
      await Promise.all(updates.slice(i, i + 1000).map((update) => store.append('cold', [update])))
    }
    await store.close()
  }
  const port = await freePort()
  const server = await launch(target, port, prepare)
  const frames = new Frames(target.protocol, 'cold')
  const started = performance.now()
  const socket = new WebSocket(target.urlTemplate(port).replace('{doc}', 'cold'), { perMessageDeflate: false })
  // Synced means holding the whole document: a server may answer sync step 1 before it has
  // read its store (and send the content later), so the client counts what it received.
  const received = new Y.Doc()
  const expectedLength = text.length
  const synced = await within(new Promise<boolean>((resolve, reject) => {
    socket.once('error', reject)
    socket.once('open', () => {
      for (const frame of frames.hello()) socket.send(frame)
    })
    socket.on('message', (data: Buffer) => {
      const content = frames.contentOf(data)
      if (content !== null) Y.applyUpdate(received, content)
      if (received.getText('text').length === expectedLength) resolve(true)
    })
  }), COLD_LOAD_LIMIT_MS)
  if (synced === null) {
    process.stderr.write(`cold load: ${target.name} did not sync within ${COLD_LOAD_LIMIT_MS / 1000} s\n`)
    socket.terminate()
    await server.stop()
    return row
  }
  row.coldSyncMs = performance.now() - started
  socket.close()
  // Let the server unload (and compact) the document, then stop it cleanly.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  await server.stop(false)
  row.diskKb = Number(execSync(`du -sk ${server.dataDir}`).toString().split(/\s/)[0])
  row.stateKb = Y.encodeStateAsUpdate(doc).byteLength / 1024
  await server.stop()
  return row
}

/**
 * Puts a document of `bytes` on the server through its own protocol and waits until a
 * second client receives all of it. The seeding client stays connected (servers without
 * persistence drop a document when its last client leaves).
 */
async function seed(target: Target, port: number, document: string, bytes: number): Promise<WebSocket> {
  const frames = new Frames(target.protocol, document)
  const url = target.urlTemplate(port).replace('{doc}', encodeURIComponent(document))
  const open = async () => {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 2 ** 20 })
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    return socket
  }
  const seeder = await open()
  for (const frame of frames.hello()) seeder.send(frame)
  const doc = new Y.Doc()
  doc.getText('text').insert(0, 'lorem ipsum dolor sit amet '.repeat(Math.ceil(bytes / 27)).slice(0, bytes))
  seeder.send(frames.update(Y.encodeStateAsUpdate(doc)))
  const checker = await open()
  // As sync step 2, or as an update when the server answered before it had the document.
  let total = 0
  const received = new Promise<void>((resolve) => checker.on('message', (data: Buffer) => {
    total += data.byteLength
    if (total >= bytes) resolve()
  }))
  for (const frame of frames.hello()) checker.send(frame)
  await received
  checker.terminate()
  return seeder
}

function empty(target: Target, connected: number): Row {
  const none = Number.NaN
  return {
    target: target.name,
    sustained: none,
    sustainedRate: none,
    coldSyncMs: none,
    diskKb: none,
    stateKb: none,
    stormMs: none,
    stormCpuS: none,
    peakMb: none,
    connected,
    delivered: 0,
    expected: 0,
    p50: none,
    p99: none,
    cpuMicrosPerUpdate: none,
    rssMb: none,
    rssPerConnectionKb: none,
    syncP50: none,
  }
}

/** One row for several rounds: the median of each measure, deliveries summed (loss over all). */
function combine(rows: Row[]): Row {
  const combined = { ...rows[0]! }
  for (const key of Object.keys(combined) as Array<keyof Row>) {
    if (key === 'target') continue
    const values = rows.map((row) => row[key] as number)
    combined[key] = (key === 'delivered' || key === 'expected'
      ? values.reduce((sum, value) => sum + value, 0)
      : median(values)) as never
  }
  return combined
}

const fixed = (value: number, digits = 1) => (Number.isNaN(value) ? '–' : value.toFixed(digits))

function table(scenario: Scenario, rows: Row[], rounds: number, command: string): string {
  const lines = [`### ${scenario.name}: ${scenario.description}`, '', `Run ${new Date().toISOString()}: \`${command}\``, '']
  if (rounds > 1) lines.push(`Medians of ${rounds} rounds (delivered / expected: all rounds together).`, '')
  if (scenario.rates !== undefined) {
    lines.push('| server | sustained deliveries/s | at updates/s per writer | p99 ms there |', '|---|---|---|---|')
    for (const row of rows) lines.push(`| ${row.target} | ${fixed(row.sustained, 0)} | ${fixed(row.sustainedRate, 0)} | ${fixed(row.p99)} |`)
  } else if (scenario.storedUpdates !== undefined) {
    lines.push('| server | first sync ms | on disk after compaction KB | encoded state KB | disk / state |', '|---|---|---|---|---|')
    for (const row of rows) lines.push(`| ${row.target} | ${fixed(row.coldSyncMs, 0)} | ${fixed(row.diskKb, 0)} | ${fixed(row.stateKb, 0)} | ${fixed(row.diskKb / row.stateKb, 2)} |`)
  } else if (scenario.stormBytes !== undefined) {
    lines.push('| server | joiners | all synced after ms | server CPU s until then | peak RSS MB |', '|---|---|---|---|---|')
    for (const row of rows) lines.push(`| ${row.target} | ${row.connected} | ${fixed(row.stormMs, 0)} | ${fixed(row.stormCpuS, 2)} | ${fixed(row.peakMb)} |`)
  } else if (scenario.idle) {
    lines.push('| server | connections | RSS MB | RSS per connection KB |', '|---|---|---|---|')
    for (const row of rows) lines.push(`| ${row.target} | ${row.connected} | ${fixed(row.rssMb)} | ${fixed(row.rssPerConnectionKb)} |`)
  } else {
    lines.push('| server | delivered / expected | loss | p50 ms | p99 ms | CPU µs per delivered update | RSS MB | first sync p50 ms |', '|---|---|---|---|---|---|---|---|')
    for (const row of rows) {
      const loss = row.expected === 0 ? Number.NaN : (100 * Math.max(0, row.expected - row.delivered)) / row.expected
      lines.push(`| ${row.target} | ${row.delivered} / ${row.expected} | ${fixed(loss, 2)}% | ${fixed(row.p50)} | ${fixed(row.p99)} | ${fixed(row.cpuMicrosPerUpdate)} | ${fixed(row.rssMb)} | ${fixed(row.syncP50)} |`)
    }
  }
  const tandem = rows.find((row) => row.target === targets.tandem!.name)
  if (tandem !== undefined) {
    lines.push('', 'Tandem against each (below 1 is better for Tandem):', '')
    for (const row of rows) {
      if (row === tandem) continue
      lines.push(scenario.rates !== undefined
        ? `- ${row.target}: sustained deliveries ${fixed(tandem.sustained / row.sustained, 2)}× (above 1 is better here)`
        : scenario.storedUpdates !== undefined
          ? `- ${row.target}: first sync ${fixed(tandem.coldSyncMs / row.coldSyncMs, 2)}×, disk ${fixed(tandem.diskKb / row.diskKb, 2)}×`
          : scenario.stormBytes !== undefined
            ? `- ${row.target}: time ${fixed(tandem.stormMs / row.stormMs, 2)}×, server CPU ${fixed(tandem.stormCpuS / row.stormCpuS, 2)}×, peak RSS ${fixed(tandem.peakMb / row.peakMb, 2)}×`
            : scenario.idle
              ? `- ${row.target}: RSS per connection ${fixed(tandem.rssPerConnectionKb / row.rssPerConnectionKb, 2)}×`
              : `- ${row.target}: CPU per update ${fixed(tandem.cpuMicrosPerUpdate / row.cpuMicrosPerUpdate, 2)}×, p99 ${fixed(tandem.p99 / row.p99, 2)}×`)
    }
  }
  return lines.join('\n')
}

/** A numeric option's value, or an error naming the option. */
function numberOption(name: 'measure' | 'warmup' | 'rounds' | 'workers', least: number, whole: boolean): number {
  const value = Number(values[name])
  if (Number.isNaN(value) || value < least || (whole && !Number.isInteger(value))) {
    throw new Error(`--${name} must be ${whole ? 'a whole number' : 'a number'} of at least ${least}`)
  }
  return value
}

const measureMs = values.smoke ? 2000 : numberOption('measure', 1, false) * 1000
const warmupMs = values.smoke ? 1000 : numberOption('warmup', 0, false) * 1000
const rounds = numberOption('rounds', 1, true)
const workerCount = numberOption('workers', 1, true)
// `cluster` (several instances on Postgres and Redis) has its own servers and runner, and runs only when named.
const names = values.smoke ? [] : values.scenarios.split(',')
const chosen = values.smoke ? [smokeScenario] : names.filter((name) => name !== 'cluster').map((name) => {
  const scenario = scenarios[name]
  if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}, cluster`)
  return scenario
})
const chosenTargets = (values.smoke ? ['tandem', 'relay'] : values.targets.split(',')).map((name) => {
  const target = targets[name]
  if (!target) throw new Error(`unknown target ${name}; known: ${Object.keys(targets).join(', ')}`)
  return target
})

const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()
const sections: string[] = []
for (const scenario of chosen) {
  // Rounds go through every server in turn, so a slow minute of a shared machine does not
  // land on one server's runs alone.
  const runs = chosenTargets.map((): Row[] => [])
  for (let round = 1; round <= rounds; round++) {
    for (const [index, target] of chosenTargets.entries()) {
      process.stderr.write(`${scenario.name} · ${target.name}${rounds > 1 ? ` · round ${round} of ${rounds}` : ''} …\n`)
      runs[index]!.push(await runOne(scenario, target, measureMs, warmupMs, workerCount))
    }
  }
  const rows = runs.map(combine)
  const section = table(scenario, rows, rounds, command)
  sections.push(section)
  process.stdout.write(`${section}\n\n`)
  if (values.smoke) {
    const tandem = rows[0]!
    if (tandem.delivered === 0 || tandem.delivered < tandem.expected) {
      process.stderr.write(`smoke: Tandem delivered ${tandem.delivered} of ${tandem.expected}\n`)
      process.exit(1)
    }
  }
}

if (names.includes('cluster')) {
  const section = await clusterSection({ rounds, warmupMs, measureMs, command })
  sections.push(section)
  process.stdout.write(`${section}\n\n`)
}

if (!values.smoke) {
  const file = new URL('../RESULTS.md', import.meta.url)
  const kept = values.update && existsSync(file) ? sectionsOf(readFileSync(file, 'utf8')) : new Map<string, string>()
  for (const section of sections) kept.set(headingOf(section), section)
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
  const header = `# Benchmark results\n\nMachine: ${machine}\n\nEach section names the command and the time of its run.`
  writeFileSync(file, `${header}\n\n${[...kept.values()].join('\n\n')}\n`)
}

/** The sections of a RESULTS.md by scenario name, in their order. */
function sectionsOf(markdown: string): Map<string, string> {
  const sections = new Map<string, string>()
  for (const part of markdown.split(/^(?=### )/m).slice(1)) sections.set(headingOf(part), part.trimEnd())
  return sections
}

function headingOf(section: string): string {
  return section.slice(4, section.indexOf(':'))
}
