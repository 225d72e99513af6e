// A probe, not a benchmark: how much memory a server holds for clients that stop reading
// their sockets while one writer keeps their document busy, and whether it lets them go.
//
//   npx tsc -b && node --import tsx bench/src/probes/slow-readers.ts [--stalled 20] [--seconds 30]
//     [--after 60] [--targets tandem,y-websocket-server,hocuspocus] [--protocol y-websocket|hocuspocus|both]
//
// The writer overwrites one Y.Map key with ~64 KB of fresh text, so the document itself stays
// small (replaced values are garbage-collected) and what grows is what the server queues for
// the stalled clients. Stalled clients join (handshake and first sync), then pause their TCP
// socket: the kernel buffers fill, and everything after that waits in the server's process.
import { parseArgs } from 'node:util'
import { Frames, type Protocol } from '../load/frames.js'
import { memory } from '../proc-stats.js'
import { launch, type Target, targets } from '../targets.js'
import { freePort } from '../free-port.js'
import { join, load, sleep, startWriting } from './probe-clients.js'
import { serverSideStates } from './tcp-states.js'

const DOCUMENT = 'slow-readers'
const MB = 1024 * 1024

const { values } = parseArgs({
  options: {
    stalled: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    after: { type: 'string', default: '60' },
    targets: { type: 'string', default: 'tandem,y-websocket-server,hocuspocus' },
    protocol: { type: 'string', default: 'both' },
  },
})

interface Settings {
  readonly stalled: number
  readonly seconds: number
  readonly after: number
}

interface Row {
  readonly server: string
  readonly protocol: Protocol
  readonly baseline: number
  readonly peak: number
  readonly endOfLoad: number
  readonly afterLoad: number
  readonly closed: string
  readonly writer: string
}

function wholeNumber(name: 'stalled' | 'seconds' | 'after', least: number): number {
  const value = Number(values[name])
  if (!Number.isInteger(value) || value < least) throw new Error(`--${name} must be a whole number ≥ ${least}`)
  return value
}

function protocolsOf(option: string): Protocol[] {
  if (option === 'both') return ['y-websocket', 'hocuspocus']
  if (option === 'y-websocket' || option === 'hocuspocus') return [option]
  throw new Error('--protocol must be y-websocket, hocuspocus or both')
}

/** Where a target speaks `protocol`, or null: Tandem speaks both, the others one each. */
function urlFor(name: string, target: Target, protocol: Protocol, port: number): string | null {
  // Stalled clients join by completing a sync, which a server that only relays never answers.
  if (!target.syncs) return null
  if (target.protocol === protocol) return target.urlTemplate(port).replace('{doc}', DOCUMENT)
  if (name === 'tandem' && protocol === 'hocuspocus') return `ws://127.0.0.1:${port}/collab`
  return null
}

async function probe(name: string, target: Target, protocol: Protocol, settings: Settings): Promise<Row | null> {
  const port = await freePort()
  const url = urlFor(name, target, protocol, port)
  if (url === null) {
    process.stderr.write(`skipped: ${target.name} does not sync over ${protocol}\n`)
    return null
  }
  const server = await launch(target, port)
  const pid = server.process.pid!
  const frames = new Frames(protocol, DOCUMENT)
  const joined = await Promise.allSettled(Array.from({ length: settings.stalled }, () => join(url, frames)))
  const stalled = joined.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const clients = [...stalled]
  try {
    const failed = joined.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    for (const client of stalled) client.ws.pause()
    const writer = await join(url, frames)
    clients.push(writer)
    await sleep(1000)
    const baseline = memory(pid).rss
    const ports = stalled.map((client) => client.localPort)
    const closedAt = new Map<number, number>()
    const noteClosures = (second: number) => {
      for (const [client, state] of serverSideStates(port, ports)) {
        if (state !== 'ESTABLISHED' && !closedAt.has(client)) closedAt.set(client, second)
      }
    }
    noteClosures(0)
    const start = Date.now()
    const writing = startWriting(writer, frames)
    let endOfLoad = 0
    let afterLoad = 0
    let sent = 0
    let exited = ''
    for (let second = 1; second <= settings.seconds + settings.after; second++) {
      await sleep(start + second * 1000 - Date.now())
      if (server.process.exitCode !== null || server.process.signalCode !== null) {
        exited = `; server exited (${server.process.exitCode ?? server.process.signalCode}) by ${second} s`
        break
      }
      afterLoad = memory(pid).rss
      noteClosures(second)
      if (second === settings.seconds) {
        writing.stop()
        sent = writing.sent()
        endOfLoad = afterLoad
      }
      if (second % 10 === 0) {
        process.stderr.write(`${target.name} / ${protocol}: ${second} s, RSS ${mb(afterLoad)} MB, ${closedAt.size} stalled closed\n`)
      }
    }
    writing.stop()
    sent ||= writing.sent()
    const peak = memory(pid).peak
    const times = [...closedAt.values()]
    const [first, last] = [Math.min(...times), Math.max(...times)]
    const closed = times.length === 0
      ? `0/${stalled.length}`
      : `${times.length}/${stalled.length} at ${first === last ? first : `${first}–${last}`} s`
    const status = writer.closed === null
      ? 'stayed connected'
      : `closed ${writer.closed.code} at ${((writer.closed.at - start) / 1000).toFixed(1)} s`
    const error = writer.error === null ? '' : `; error: ${writer.error}`
    const rate = (sent / settings.seconds).toFixed(0)
    return {
      server: target.name,
      protocol,
      baseline,
      peak,
      endOfLoad,
      afterLoad,
      closed,
      writer: `${status}, ${sent} updates sent (${rate}/s)${error}${exited}`,
    }
  } finally {
    for (const client of clients) client.ws.terminate()
    await server.stop()
  }
}

function table(rows: readonly Row[], settings: Settings): string {
  const header = [
    `Slow readers: 1 document, ${settings.stalled} stalled clients, 1 writer of ~${load.updateBytes / 1024} KB updates`,
    `at ${load.updatesPerSecond}/s for ${settings.seconds} s, then ${settings.after} s without writes. RSS of the server`,
    'process in MB; baseline is with every client joined, before the first write; peak is VmHWM;',
    'closures are seconds after the first write, seen as the server\'s end of the TCP connection leaving ESTABLISHED.',
    '',
    `| server | stalled clients speak | baseline | peak | end of load | ${settings.after} s after load | stalled closed by server | writer |`,
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
  ]
  const lines = rows.map((row) => `| ${row.server} | ${row.protocol} | ${mb(row.baseline)} | ${mb(row.peak)} | ${mb(row.endOfLoad)} | `
    + `${mb(row.afterLoad)} | ${row.closed} | ${row.writer} |`)
  return [...header, ...lines].join('\n')
}

const mb = (bytes: number) => (bytes / MB).toFixed(0)

const settings: Settings = { stalled: wholeNumber('stalled', 0), seconds: wholeNumber('seconds', 1), after: wholeNumber('after', 0) }
const names = values.targets.split(',').map((name) => name.trim()).filter((name) => name !== '')
for (const name of names) if (targets[name] === undefined) throw new Error(`unknown target ${name}; known: ${Object.keys(targets).join(', ')}`)
const rows: Row[] = []
const failures: string[] = []
for (const protocol of protocolsOf(values.protocol)) {
  for (const name of names) {
    try {
      const row = await probe(name, targets[name]!, protocol, settings)
      if (row !== null) rows.push(row)
    } catch (error) {
      // One server failing to start or to sync says nothing about the others: report and go on.
      failures.push(`${name} / ${protocol} failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}
const command = `node --import tsx bench/src/probes/slow-readers.ts ${process.argv.slice(2).join(' ')}`.trim()
process.stdout.write(`${table(rows, settings)}\n${failures.map((failure) => `\n${failure}`).join('')}\n\n${command}\n`)
if (failures.length > 0) process.exitCode = 1
