// A probe, not a benchmark: what one read-only client that keeps sending changes to a large
// document costs the clients of other documents, and when the server lets it go.
//
//   npx tsc -b && node --import tsx bench/src/probes/read-only-flood.ts [--seconds 20] [--structs 300000]
//     [--rate 190] [--reconnect true|false]
//
// One document is seeded with `--structs` one-character inserts that stay separate structs.
// A stock WebsocketProvider with a read token joins it; while it floods, each message is a new
// one-character insert the server has to refuse. On another document a writer sets a new map
// key every 50 ms, and a second client there times how long each one takes to be relayed.
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import * as Y from 'yjs'
import { cpuSeconds } from '../proc-stats.js'
import { launch, targets } from '../targets.js'
import { freePort } from '../free-port.js'
import { connectProvider, sleep, until } from './probe-clients.js'

const LARGE = 'read-only-flood-large'
const OTHER = 'read-only-flood-other'
const PING_MS = 50
const DRAIN_MS = 10_000
/** Inserts land within this many characters of the start: cheap to build, and rarely adjacent. */
const SPREAD = 1000

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    structs: { type: 'string', default: '300000' },
    rate: { type: 'string', default: '190' },
    reconnect: { type: 'string', default: 'true' },
  },
})

function wholeNumber(name: 'seconds' | 'structs' | 'rate'): number {
  const value = Number(values[name])
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1`)
  return value
}
if (values.reconnect !== 'true' && values.reconnect !== 'false') throw new Error('--reconnect must be true or false')
const settings = { seconds: wholeNumber('seconds'), structs: wholeNumber('structs'), rate: wholeNumber('rate') }
const reconnect = values.reconnect === 'true'

interface Row {
  readonly period: string
  readonly sent: number
  readonly closures: string
  readonly reconnects: number
  readonly pings: number
  readonly latencies: number[]
  readonly cpu: number
}

const countStructs = (doc: Y.Doc) => [...doc.store.clients.values()].reduce((sum, structs) => sum + structs.length, 0)

/** A small linear congruential generator, so every run seeds the same document. */
function seeded(seed: number): () => number {
  let state = seed
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648
}

async function probe(): Promise<{ rows: Row[], structs: number }> {
  const secret = randomBytes(32).toString('hex')
  const key = new TextEncoder().encode(secret)
  const mint = (docs: string[], role: 'read' | 'write') => new SignJWT({ docs, role })
    .setProtectedHeader({ alg: 'HS256' }).setSubject(`probe-${role}`).setExpirationTime('1h').sign(key)
  // The launched server inherits this process's environment; the target's own variables win.
  process.env.AUTH_SECRET = secret
  const port = await freePort()
  const server = await launch(targets.tandem!, port)
  const pid = server.process.pid!
  const url = `ws://127.0.0.1:${port}/collab`
  const [writeToken, readToken] = await Promise.all([mint([LARGE, OTHER], 'write'), mint([LARGE], 'read')])
  const docs: Y.Doc[] = []
  const doc = () => {
    docs.push(new Y.Doc())
    return docs.at(-1)!
  }
  try {
    const seedDoc = doc()
    const text = seedDoc.getText('text')
    const random = seeded(1)
    seedDoc.transact(() => {
      for (let i = 0; i < settings.structs; i++) text.insert(Math.floor(random() * Math.min(text.length + 1, SPREAD)), 'x')
    })
    const structs = countStructs(seedDoc)
    const seeder = connectProvider(url, LARGE, seedDoc, writeToken)
    // The reader is a fresh client: once it holds every seeded struct, so does the server.
    const readerDoc = doc()
    const reader = connectProvider(url, LARGE, readerDoc, readToken, reconnect)
    const received = () => readerDoc.getText('text').length >= settings.structs
    await until(received, 120_000, 'the reader did not receive the seeded document')
    seeder.destroy()
    const closures: Array<{ by: string, at: number }> = []
    let connects = 0
    // No close event: the provider closed the socket itself, after 30 s without a message.
    reader.on('connection-close', (event) => closures.push({ by: event === null ? 'client watchdog' : String(event.code), at: performance.now() }))
    reader.on('status', ({ status }) => {
      if (status === 'connected') connects++
    })

    const writerDoc = doc()
    const observerDoc = doc()
    const writer = connectProvider(url, OTHER, writerDoc, writeToken)
    const observer = connectProvider(url, OTHER, observerDoc, writeToken)
    await until(() => writer.synced && observer.synced, 10_000, 'the other document did not sync')
    const sentAt = new Map<string, number>()
    const latency = new Map<string, number>()
    observerDoc.getMap<number>('pings').observe((event) => {
      const now = performance.now()
      for (const ping of event.keysChanged) latency.set(ping, now - (sentAt.get(ping) ?? now))
    })

    const period = async (name: string, flooding: boolean): Promise<Row> => {
      const [start, cpuStart, closedBefore, connectsBefore] = [performance.now(), cpuSeconds(pid), closures.length, connects]
      const keys: string[] = []
      let [due, sent] = [0, 0]
      const pinging = setInterval(() => {
        const ping = `${name}-${keys.length}`
        keys.push(ping)
        sentAt.set(ping, performance.now())
        writerDoc.getMap<number>('pings').set(ping, keys.length)
      }, PING_MS)
      // Ticks of 10 ms catch up on the messages due, so the rate holds whatever the timer does;
      // a message due while the reader is disconnected is skipped, not sent in a burst later.
      const flood = setInterval(() => {
        for (; flooding && due < ((performance.now() - start) * settings.rate) / 1000; due++) {
          if (!reader.wsconnected) continue
          readerDoc.getText('text').insert(0, 'r')
          sent++
        }
      }, 10)
      await sleep(settings.seconds * 1000)
      clearInterval(pinging)
      clearInterval(flood)
      const cpu = (cpuSeconds(pid) - cpuStart) / ((performance.now() - start) / 1000)
      // Pings still missing after the drain are reported as lost, not thrown.
      await until(() => keys.every((ping) => latency.has(ping)), DRAIN_MS, 'drain').catch(() => undefined)
      const ours = closures.slice(closedBefore)
      const codes = new Map<string, number>()
      for (const { by } of ours) codes.set(by, (codes.get(by) ?? 0) + 1)
      const since = (at: number) => ((at - start) / 1000).toFixed(2)
      return {
        period: name,
        sent,
        closures: ours.length === 0 ? 'none' : `${[...codes].map(([code, count]) => `${count} × ${code}`).join(', ')}, `
          + `first at ${since(ours[0]!.at)} s, last at ${since(ours.at(-1)!.at)} s`,
        reconnects: connects - connectsBefore,
        pings: keys.length,
        latencies: keys.flatMap((ping) => (latency.has(ping) ? [latency.get(ping)!] : [])).sort((a, b) => a - b),
        cpu,
      }
    }
    const rows = [await period('baseline (reader idle)', false), await period(`reader flooding at ${settings.rate}/s`, true)]
    for (const provider of [reader, writer, observer]) provider.destroy()
    return { rows, structs }
  } finally {
    for (const each of docs) each.destroy()
    await server.stop()
  }
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? '–' : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(1)

function table(rows: readonly Row[], structs: number): string {
  return [
    `Read-only flood: Tandem (LevelDB) with AUTH_SECRET; one document of ${structs} structs (${settings.structs} one-character`,
    `inserts), one read-token WebsocketProvider on it (reconnect: ${reconnect}); on another document a write-token client sets a new key`,
    `every ${PING_MS} ms and relay is the time until a second client there sees it. ${settings.seconds} s per period;`,
    'closures are what the reader saw (1008: refused too many changes), seconds after the period began; server CPU is % of one core.',
    '',
    '| period | reader messages sent | reader socket closed (code) | reconnects | pings | relay p50 ms | p95 ms | p99 ms | pings lost | server CPU |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((row) => `| ${row.period} | ${row.sent} | ${row.closures} | ${row.reconnects} | ${row.pings} | `
      + `${percentile(row.latencies, 50)} | ${percentile(row.latencies, 95)} | ${percentile(row.latencies, 99)} | `
      + `${row.pings - row.latencies.length} | ${(row.cpu * 100).toFixed(0)} % |`),
  ].join('\n')
}

const { rows, structs } = await probe()
const command = `node --import tsx bench/src/probes/read-only-flood.ts ${process.argv.slice(2).join(' ')}`.trim()
process.stdout.write(`${table(rows, structs)}\n\n${command}\n`)
