// One load process: opens real WebSocket connections for its documents, writes real Yjs
// updates carrying markers with their send time, sends awareness, and finds the markers in
// what it receives (ContentString bytes travel raw inside updates, merged or not).
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { Frames, type Protocol } from './frames.js'

export interface WorkerConfig {
  /** `{doc}` is replaced by the document name. */
  readonly urlTemplate: string
  readonly protocol: Protocol
  readonly documents: readonly string[]
  readonly clientsPerDocument: number
  readonly writersPerDocument: number
  /** Updates a second per writer. */
  readonly writeRate: number
  /** Awareness updates a second per client; 0 for none. */
  readonly awarenessRate: number
  readonly warmupMs: number
  readonly measureMs: number
  readonly drainMs: number
  /** Wait for sync step 2 before counting a client as ready (false for the raw relay). */
  readonly waitForSync: boolean
  /** Idle scenario: connect, report, then hold the connections until told to stop. */
  readonly holdOnly?: boolean
  /**
   * Write only once a {@link StartMessage} arrives: processes loading one document from
   * several instances then share one measured window.
   */
  readonly awaitStart?: boolean
}

/** The measured window, in `process.hrtime` microseconds (one clock for every process). */
export interface StartMessage {
  readonly type: 'start'
  readonly windowStart: number
  readonly windowEnd: number
}

export interface WorkerResult {
  readonly connected: number
  readonly sent: number
  readonly expected: number
  readonly delivered: number
  readonly latenciesMs: number[]
  /** Of `delivered`, those written by other load processes (in the cluster scenario: on other instances). */
  readonly deliveredFromOthers: number
  /** `latenciesMs` split by where the update was written: by this load process, or by another. */
  readonly latenciesFromThisProcessMs: number[]
  readonly latenciesFromOthersMs: number[]
  readonly syncTimesMs: number[]
}

const MARK = Buffer.from('@@T')
const nowMicros = () => Number(process.hrtime.bigint() / 1000n)

const config = JSON.parse(process.argv[2]!) as WorkerConfig
const sockets: WebSocket[] = []
const latencies: number[] = []
const latenciesFromThisProcess: number[] = []
const latenciesFromOthers: number[] = []
const syncTimes: number[] = []
let delivered = 0
let deliveredFromOthers = 0
let sent = 0
let windowStart = Number.POSITIVE_INFINITY
let windowEnd = Number.POSITIVE_INFINITY

/** The Yjs client id each writing socket writes with: servers that echo must not count. */
const ownIds = new Map<WebSocket, string>()
/** The same ids as a set: what this process wrote, as opposed to other load processes. */
const writerIds = new Set<string>()

function receive(socket: WebSocket, data: Buffer): void {
  const own = ownIds.get(socket)
  let at = data.indexOf(MARK)
  while (at !== -1) {
    const end = data.indexOf(64 /* @ */, at + 3)
    if (end === -1) break
    const sentAt = Number(data.toString('latin1', at + 3, end))
    const idEnd = data.indexOf(58 /* : */, end)
    const writerId = data.toString('latin1', end + 1, idEnd)
    if (writerId !== own && sentAt >= windowStart && sentAt <= windowEnd) {
      const latency = (nowMicros() - sentAt) / 1000
      delivered++
      latencies.push(latency)
      if (writerIds.has(writerId)) {
        latenciesFromThisProcess.push(latency)
      } else {
        deliveredFromOthers++
        latenciesFromOthers.push(latency)
      }
    }
    at = data.indexOf(MARK, end)
  }
}

function connect(document: string): Promise<WebSocket> {
  const frames = new Frames(config.protocol, document)
  const socket = new WebSocket(config.urlTemplate.replace('{doc}', encodeURIComponent(document)), {
    perMessageDeflate: false,
  })
  sockets.push(socket)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.once('open', () => {
      for (const frame of frames.hello()) socket.send(frame)
      if (!config.waitForSync) resolve(socket)
    })
    let synced = !config.waitForSync
    socket.on('message', (data: Buffer) => {
      if (!synced && frames.isSyncStep2(data)) {
        synced = true
        syncTimes.push(performance.now() - started)
        resolve(socket)
      }
      receive(socket, data)
    })
  })
}

function writer(socket: WebSocket, document: string): () => void {
  const frames = new Frames(config.protocol, document)
  const doc = new Y.Doc()
  ownIds.set(socket, String(doc.clientID))
  writerIds.add(String(doc.clientID))
  const text = doc.getText('text')
  let seq = 0
  doc.on('update', (update: Uint8Array) => {
    if (socket.readyState === socket.OPEN) socket.send(frames.update(update))
  })
  return () => {
    const at = nowMicros()
    if (at >= windowStart && at <= windowEnd) sent++
    text.insert(text.length, `@@T${at}@${doc.clientID}:${seq++};`)
  }
}

function awareness(socket: WebSocket, document: string, index: number): () => void {
  const frames = new Frames(config.protocol, document)
  const clientId = 1 + Math.floor(Math.random() * 2 ** 30)
  let clock = 0
  return () => {
    const state = JSON.stringify({ user: { name: `bench ${index}`, color: '#4f46e5' }, cursor: { anchor: clock, head: clock } })
    if (socket.readyState === socket.OPEN) socket.send(frames.awareness(clientId, ++clock, state))
  }
}

/** Runs `tick` `rate` times a second, starting at a random phase. */
function every(rate: number, tick: () => void): NodeJS.Timeout {
  const interval = 1000 / rate
  const timer = setInterval(tick, interval)
  return timer
}

const clients: Array<{ socket: WebSocket, document: string, index: number }> = []
for (const document of config.documents) {
  const opened = await Promise.all(Array.from({ length: config.clientsPerDocument }, () => connect(document)))
  opened.forEach((socket, index) => clients.push({ socket, document, index }))
}
process.send?.({ type: 'connected', connected: clients.length, syncTimesMs: syncTimes })
if (config.holdOnly) {
  process.on('message', () => {
    for (const socket of sockets) socket.terminate()
    process.exit(0)
  })
} else if (config.awaitStart) {
  process.once('message', (message: StartMessage) => generate(message.windowStart, message.windowEnd))
} else {
  const start = nowMicros() + config.warmupMs * 1000
  generate(start, start + config.measureMs * 1000)
}

/** Writes (and sends awareness) until `end`, counts what was sent from `start`, reports after the drain. */
function generate(start: number, end: number): void {
  const timers: NodeJS.Timeout[] = []
  for (const client of clients) {
    if (client.index < config.writersPerDocument) {
      const write = writer(client.socket, client.document)
      setTimeout(() => timers.push(every(config.writeRate, write)), Math.random() * (1000 / config.writeRate))
    }
    if (config.awarenessRate > 0) {
      const send = awareness(client.socket, client.document, client.index)
      setTimeout(() => timers.push(every(config.awarenessRate, send)), Math.random() * (1000 / config.awarenessRate))
    }
  }
  windowStart = start
  windowEnd = end
  const untilEndMs = (end - nowMicros()) / 1000
  setTimeout(() => {
    for (const timer of timers) clearInterval(timer)
  }, untilEndMs)
  setTimeout(() => {
    const result: WorkerResult = {
      connected: clients.length,
      sent,
      expected: sent * (config.clientsPerDocument - 1),
      delivered,
      latenciesMs: latencies,
      deliveredFromOthers,
      latenciesFromThisProcessMs: latenciesFromThisProcess,
      latenciesFromOthersMs: latenciesFromOthers,
      syncTimesMs: syncTimes,
    }
    process.send?.({ type: 'result', result }, () => {
      for (const socket of sockets) socket.terminate()
      process.exit(0)
    })
  }, untilEndMs + config.drainMs)
}
