import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import type { HocuspocusProvider } from '@hocuspocus/provider'
import * as decoding from 'lib0/decoding'
import { PostgresStore } from '@tandem/persistence/postgres-store'
import { temporaryDatabase } from '@tandem/persistence/test-support/postgres'
import type { WebSocket as NodeWebSocket } from 'ws'
import type { WebsocketProvider } from 'y-websocket'
import type { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { BusMessage } from './bus/bus.js'
import { decodeBusFrame } from './bus/bus-codec.js'
import { CloseCode } from './close-codes.js'
import { spawnChildServer } from './test-support/child-server.js'
import { connectProvider, converged, disconnect, eventually, synced, when, withTimeout } from './test-support/clients.js'
import type { Cluster, ClusterInstance } from './test-support/cluster.js'
import { monitorPublishes, startCluster } from './test-support/cluster.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from './test-support/hocuspocus.js'
import { redisSkipReason } from './test-support/redis.js'
import { mintToken, TEST_SECRET } from './test-support/tokens.js'

const skip = await redisSkipReason()
/** Every test ends, passed or failed, well within this: nothing can hang the suite. */
const TEST_TIMEOUT_MS = 60_000
/** How long one HTTP request may take. */
const REQUEST_TIMEOUT_MS = 10_000

/** Tokens in a document's text: every writer inserts `<writer><n>;`. */
function tokens(doc: Y.Doc): Set<string> {
  return new Set(doc.getText('text').toString().split(';').filter(Boolean))
}

/** A client typing `<prefix><n>;` at the start of the text every `everyMs`, until stopped. */
function typist(doc: Y.Doc, prefix: string, everyMs: number) {
  const written: string[] = []
  let running = true
  const typing = (async () => {
    for (let n = 0; running; n++) {
      doc.getText('text').insert(0, `${prefix}${n};`)
      written.push(`${prefix}${n}`)
      await delay(everyMs)
    }
  })()
  return {
    written,
    /** Stops typing; resolves with every token written. */
    stop: async () => {
      running = false
      await typing
      return written
    },
  }
}

/** The names in an awareness's states (`user.name`), the local one included. */
function names(awareness: Awareness): string[] {
  return [...awareness.getStates().values()].flatMap((state) => {
    const name = (state as { user?: { name?: unknown } }).user?.name
    return typeof name === 'string' ? [name] : []
  })
}

/** Resolves once `awareness` shows `name` (or, with `present` false, no longer shows it). */
function presence(awareness: Awareness, name: string, present = true, timeoutMs = 5000): Promise<void> {
  return when(
    awareness,
    'change',
    () => names(awareness).includes(name) === present,
    `${name} was ${present ? 'not shown' : 'still shown'}`,
    timeoutMs,
  )
}

/**
 * Drops a y-websocket client's socket without a close frame or a last awareness message, as
 * a closed laptop would.
 */
function dropYjsSocket(provider: WebsocketProvider): void {
  provider.shouldConnect = false
  ;(provider.ws as unknown as NodeWebSocket).terminate()
}

/**
 * Keeps a Hocuspocus provider from reconnecting once its socket closes: destroyed while it
 * reconnects to an instance that is gone, the stock provider throws from `ws` ('closed before
 * the connection was established').
 */
function stopReconnecting(provider: HocuspocusProvider): void {
  provider.configuration.websocketProvider.shouldConnect = false
}

/** The same for a Hocuspocus provider's socket. */
function dropHocuspocusSocket(provider: HocuspocusProvider): void {
  stopReconnecting(provider)
  ;(provider.configuration.websocketProvider.webSocket as unknown as NodeWebSocket).terminate()
}

/** Resolves once the Hocuspocus provider has every change it sent acknowledged as stored. */
function allAcknowledged(provider: HocuspocusProvider, timeoutMs = 5000): Promise<void> {
  return when(provider, 'unsyncedChanges', () => provider.unsyncedChanges === 0, 'changes were not acknowledged', timeoutMs)
}

/** `fetch`, given up after REQUEST_TIMEOUT_MS. */
function request(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
}

async function readyz(instance: ClusterInstance): Promise<number> {
  const response = await request(`${instance.url}/readyz`)
  await response.arrayBuffer()
  return response.status
}

/** `GET /api/documents/:name/content?format=...` on one instance: the status and the body. */
async function exported(instance: ClusterInstance, name: string, format: 'yjs' | 'markdown', headers = {}) {
  const response = await request(`${instance.url}/api/documents/${encodeURIComponent(name)}/content?format=${format}`, { headers })
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) }
}

/** The document as the HTTP API of `instance` exports it (`format=yjs`). */
async function exportedDoc(instance: ClusterInstance, name: string): Promise<Y.Doc> {
  const { status, body } = await exported(instance, name, 'yjs')
  assert.equal(status, 200, `GET content of ${name} answered ${status}`)
  const doc = new Y.Doc()
  Y.applyUpdate(doc, body)
  return doc
}

/** What the shared Postgres store holds of a document, read directly: no instance's memory in between. */
async function storedDoc(cluster: Cluster, name: string): Promise<Y.Doc> {
  const store = new PostgresStore({ connectionString: cluster.databaseUrl, poolSize: 1 })
  await store.open()
  try {
    const doc = new Y.Doc()
    const state = await store.load(name)
    if (state !== null) Y.applyUpdate(doc, state)
    return doc
  } finally {
    await store.close()
  }
}

/** The revision the store has reached for a document (one per append). */
async function storedRevision(cluster: Cluster, name: string): Promise<number> {
  const store = new PostgresStore({ connectionString: cluster.databaseUrl, poolSize: 1 })
  await store.open()
  try {
    return (await store.revisions([name])).get(name) ?? 0
  } finally {
    await store.close()
  }
}

/** The bus instance id an instance logged when it started listening. */
function instanceId(instance: ClusterInstance): string {
  const match = /"instance":"([0-9a-f-]{36})"/.exec(instance.stdout())
  if (match === null) throw new Error('the instance did not log its bus instance id')
  return match[1]!
}

/** Polls until `condition` holds and says how long that took, in milliseconds. */
async function timeUntil(
  condition: () => boolean | Promise<boolean>,
  message: string,
  timeoutMs: number,
): Promise<number> {
  const start = performance.now()
  await eventually(condition, message, timeoutMs)
  return Math.round(performance.now() - start)
}

/** Every token of `expected` missing from `doc`. */
function missing(doc: Y.Doc, expected: Iterable<string>): string[] {
  const present = tokens(doc)
  return [...expected].filter((token) => !present.has(token))
}

/** One PUBLISH on the cluster's channels, decoded: the message's kind, its sender, whose presence. */
interface Publish {
  readonly type: BusMessage['type']
  /** The sending instance's id. */
  readonly from: string
  /** For awareness: the Yjs client ids whose states it carries. */
  readonly clients: readonly number[]
}

/** The bytes of an argument as MONITOR shows it: printable ASCII as is, the rest escaped. */
function monitoredBytes(text: string): Uint8Array {
  const escapes: Record<string, number> = { 'n': 10, 'r': 13, 't': 9, 'a': 7, 'b': 8, '"': 34, '\\': 92 }
  const bytes: number[] = []
  for (let index = 0; index < text.length; index++) {
    if (text[index] !== '\\') {
      bytes.push(text.charCodeAt(index))
    } else if (text[index + 1] === 'x') {
      bytes.push(Number.parseInt(text.slice(index + 2, index + 4), 16))
      index += 3
    } else {
      bytes.push(escapes[text[index + 1]!]!)
      index += 1
    }
  }
  return Uint8Array.from(bytes)
}

/** The client ids of a y-protocols awareness update. */
function awarenessClients(update: Uint8Array): number[] {
  const decoder = decoding.createDecoder(update)
  const clients: number[] = []
  for (let left = decoding.readVarUint(decoder); left > 0; left--) {
    clients.push(decoding.readVarUint(decoder))
    decoding.readVarUint(decoder)
    decoding.readVarString(decoder)
  }
  return clients
}

/** The bus messages published on one cluster's channels. */
async function watchPublishes(prefix: string) {
  const monitor = await monitorPublishes(prefix)
  let from = 0
  return {
    /** Forgets everything published up to now. */
    reset: async () => {
      await monitor.settle()
      from = monitor.seen.length
    },
    /** Everything published since the last reset, up to now. */
    since: async (): Promise<Publish[]> => {
      await monitor.settle()
      return monitor.seen.slice(from).map(({ message }) => {
        const frame = decodeBusFrame(monitoredBytes(message))
        const clients = frame.message.type === 'awareness' ? awarenessClients(frame.message.update) : []
        return { type: frame.message.type, from: frame.from, clients }
      })
    },
    close: () => monitor.close(),
  }
}

/** The publishes of `type`, from one instance or any. */
function count(publishes: readonly Publish[], type: Publish['type'], from?: string): number {
  return publishes.filter((publish) => publish.type === type && (from === undefined || publish.from === from))
    .length
}

if (skip !== undefined) {
  describe('several instances on Postgres and Redis', { skip }, () => {})
} else {
  describe('several instances on Postgres and Redis', { concurrency: true }, () => {
    describe('a cluster of three instances', { concurrency: false }, () => {
      let cluster: Cluster
      let a: ClusterInstance
      /** Reaches Redis and Postgres through proxies of its own, to be cut off from either alone. */
      let b: ClusterInstance
      let c: ClusterInstance
      before(async () => {
        cluster = await startCluster([{}, { redisProxy: true, postgresProxy: true }, {}])
        ;[a, b, c] = cluster.instances as [ClusterInstance, ClusterInstance, ClusterInstance]
      })
      after(() => cluster?.dispose())

      it('[SO1] edits converge both ways between y-websocket on A, Hocuspocus on B and y-websocket on C', { timeout: TEST_TIMEOUT_MS }, async () => {
        const onA = connectProvider(a.wsUrl, 'converge')
        const onB = connectHocuspocus(b.wsUrl, 'converge')
        const onC = connectProvider(c.wsUrl, 'converge')
        try {
          await Promise.all([synced(onA), hocuspocusSynced(onB), synced(onC)])
          const docs = [onA.doc, onB.document, onC.doc]
          const expected: string[] = []
          for (let round = 0; round < 5; round++) {
            for (const [index, doc] of docs.entries()) {
              doc.getText('text').insert(0, `${'abc'[index]}${round};`)
              expected.push(`${'abc'[index]}${round}`)
            }
            await converged(docs)
          }
          for (const doc of docs) assert.deepEqual(missing(doc, expected), [])
          await allAcknowledged(onB)
          assert.deepEqual(missing(await storedDoc(cluster, 'converge'), expected), [])
        } finally {
          disconnect(onA, onC)
          disconnectHocuspocus(onB)
        }
      })

      it('[SO2] presence crosses instances, and leaves every instance when its socket closes', { timeout: TEST_TIMEOUT_MS }, async () => {
        const onA = connectProvider(a.wsUrl, 'presence')
        const onB = connectHocuspocus(b.wsUrl, 'presence')
        const onC = connectProvider(c.wsUrl, 'presence')
        try {
          await Promise.all([synced(onA), hocuspocusSynced(onB), synced(onC)])
          onA.awareness.setLocalStateField('user', { name: 'ana' })
          onB.setAwarenessField('user', { name: 'bo' })
          await Promise.all([
            presence(onB.awareness!, 'ana'), presence(onC.awareness, 'ana'),
            presence(onA.awareness, 'bo'), presence(onC.awareness, 'bo'),
          ])

          // Neither client says goodbye: only the server seeing the socket close removes them.
          let start = performance.now()
          dropYjsSocket(onA)
          await Promise.all([presence(onB.awareness!, 'ana', false), presence(onC.awareness, 'ana', false)])
          const yjsGoneMs = Math.round(performance.now() - start)
          start = performance.now()
          dropHocuspocusSocket(onB)
          await presence(onC.awareness, 'bo', false)
          const hocuspocusGoneMs = Math.round(performance.now() - start)
          console.log(`[SO2] a closed socket left the other instances' presence in ${yjsGoneMs} ms (y-websocket), ${hocuspocusGoneMs} ms (Hocuspocus)`)
        } finally {
          disconnect(onA, onC)
          disconnectHocuspocus(onB)
        }
      })

      it('[SO7] an update crosses Redis once per store write, whatever the number of instances; presence is published only where its client is', { timeout: TEST_TIMEOUT_MS }, async () => {
        const ids = { a: instanceId(a), b: instanceId(b), c: instanceId(c) }
        const publishes = await watchPublishes(cluster.prefix)
        try {
          for (const instances of [2, 3]) {
            const name = `budget-${instances}`
            const onA = connectProvider(a.wsUrl, name)
            const onB = connectHocuspocus(b.wsUrl, name)
            const onC = instances === 3 ? connectProvider(c.wsUrl, name) : undefined
            try {
              await Promise.all([synced(onA), hocuspocusSynced(onB), ...(onC ? [synced(onC)] : [])])
              const docs = [onA.doc, onB.document, ...(onC ? [onC.doc] : [])]
              await allAcknowledged(onB)
              await publishes.reset()
              const revisionBefore = await storedRevision(cluster, name)

              // One edit at a time, each seen everywhere before the next: one store write each.
              const edits = { a: 0, b: 0 }
              for (let n = 0; n < 20; n++) {
                const writer = n % 2 === 0 ? 'a' : 'b'
                const doc = writer === 'a' ? onA.doc : onB.document
                doc.getText('text').insert(0, `${writer}${n};`)
                edits[writer]++
                await converged(docs)
              }
              // A burst in one turn on the client: as many messages, grouped into fewer writes.
              for (let n = 0; n < 30; n++) onA.doc.getText('text').insert(0, `burst${n};`)
              await converged(docs)
              await allAcknowledged(onB)
              const updates = await publishes.since()
              const writes = (await storedRevision(cluster, name)) - revisionBefore
              const fromA = count(updates, 'update', ids.a)
              const fromB = count(updates, 'update', ids.b)
              assert.equal(fromB, edits.b, 'B published its writes once each')
              assert.ok(fromA >= edits.a + 1 && fromA <= edits.a + 30, `A published ${fromA} updates for ${edits.a} edits and a burst of 30`)
              assert.equal(count(updates, 'update'), writes, 'one PUBLISH per store write, none from the receiving instances')
              assert.equal(count(updates, 'update', ids.c), 0)
              assert.equal(count(updates, 'deleted'), 0)

              await publishes.reset()
              for (let n = 0; n < 5; n++) {
                onA.awareness.setLocalStateField('user', { name: `ana-${n}` })
                await Promise.all([presence(onB.awareness!, `ana-${n}`), ...(onC ? [presence(onC.awareness, `ana-${n}`)] : [])])
              }
              const awareness = await publishes.since()
              // An instance publishes only its own clients' presence: never what it received.
              const own = new Map([
                [ids.a, [onA.doc.clientID]],
                [ids.b, [onB.document.clientID]],
                [ids.c, onC ? [onC.doc.clientID] : []],
              ])
              for (const publish of awareness.filter(({ type }) => type === 'awareness')) {
                const foreign = publish.clients.filter((client) => !own.get(publish.from)?.includes(client))
                assert.deepEqual(foreign, [], 'an instance published the presence of clients connected elsewhere')
              }
              // A room that subscribed late (its SUBSCRIBE confirmed under load) asks the others for
              // their presence once, and each of them answers once: those are the only extra ones.
              const queries = count(awareness, 'query-awareness')
              const presenceFromA = count(awareness, 'awareness', ids.a)
              assert.ok(presenceFromA >= 5 && presenceFromA <= 5 + queries, `A published presence ${presenceFromA} times for 5 changes`)
              const presenceFromOthers = count(awareness, 'awareness') - presenceFromA
              assert.ok(presenceFromOthers <= queries * (instances - 1), 'the receiving instances published presence')
              assert.equal(count(awareness, 'update'), 0)
              console.log(
                `[SO7] ${instances} instances: ${count(updates, 'update')} update PUBLISHes for ${writes} store writes `
                + `(${edits.a + edits.b} single edits and a burst of 30 in ${fromA - edits.a} writes); `
                + `${count(awareness, 'awareness')} awareness PUBLISHes for 5 presence changes`,
              )
            } finally {
              disconnect(onA, ...(onC ? [onC] : []))
              disconnectHocuspocus(onB)
            }
          }
        } finally {
          publishes.close()
        }
      })

      it('[SO8] an HTTP read on B reflects a write acknowledged on A just before', { timeout: TEST_TIMEOUT_MS }, async () => {
        const put = async (name: string, text: string) => {
          const response = await request(`${a.url}/api/documents/${name}/content`, {
            method: 'PUT',
            headers: { 'Content-Type': 'text/markdown' },
            body: `# ${text}\n\nwritten on A\n`,
          })
          assert.equal(response.status, 200, await response.text())
        }
        const readOnB = async (name: string) => {
          const { status, body } = await exported(b, name, 'markdown')
          assert.equal(status, 200)
          return new TextDecoder().decode(body)
        }

        // B never had the document.
        await put('read-after-write', 'never loaded on B')
        assert.match(await readOnB('read-after-write'), /never loaded on B/)

        // B has it loaded for a client of its own: the bus or the store, whichever is first.
        const onB = connectProvider(b.wsUrl, 'read-after-write')
        try {
          await synced(onB)
          for (let round = 0; round < 5; round++) {
            await put('read-after-write', `loaded on B, round ${round}`)
            assert.match(await readOnB('read-after-write'), new RegExp(`loaded on B, round ${round}`))
          }

          // B hears nothing over Redis: only reading the store before the export makes it true.
          b.redisProxy!.cut()
          await eventually(async () => (await readyz(b)) === 503, 'B did not notice it lost Redis')
          for (let round = 0; round < 3; round++) {
            await put('read-after-write', `B cut off from Redis, round ${round}`)
            assert.match(await readOnB('read-after-write'), new RegExp(`B cut off from Redis, round ${round}`))
          }
        } finally {
          b.redisProxy!.heal()
          disconnect(onB)
        }
        await eventually(async () => (await readyz(b)) === 200, 'B did not come back', 5000)
      })

      it('[SO5] B cut off from Redis for 5 s while both sides edit: readyz 503, then 200; all converge within 5 s of healing with no edit lost and none after', { timeout: TEST_TIMEOUT_MS }, async () => {
        const onA = connectProvider(a.wsUrl, 'redis-partition')
        const onB = connectHocuspocus(b.wsUrl, 'redis-partition')
        try {
          await Promise.all([synced(onA), hocuspocusSynced(onB)])
          const writers = [typist(onA.doc, 'a', 50), typist(onB.document, 'b', 50)]
          b.redisProxy!.cut()
          const cutAt = performance.now()
          await eventually(async () => (await readyz(b)) === 503, 'B did not report losing Redis', 3000)
          const statuses: number[] = []
          while (performance.now() - cutAt < 5000) {
            statuses.push(await readyz(b))
            await delay(100)
          }
          const written = (await Promise.all(writers.map((writer) => writer.stop()))).flat()
          b.redisProxy!.heal()
          const convergeMs = await timeUntil(
            () => missing(onA.doc, written).length === 0 && missing(onB.document, written).length === 0,
            'A and B did not converge after healing',
            10_000,
          )
          const readyMs = await timeUntil(async () => (await readyz(b)) === 200, 'B was not ready again', 10_000)
          console.log(`[SO5] ${written.length} edits; converged ${convergeMs} ms after healing; /readyz on B 200 after ${readyMs} ms more`)
          assert.deepEqual(statuses.filter((status) => status !== 503), [], 'B answered /readyz with something else than 503 while cut off')
          assert.ok(convergeMs < 5000, `converged ${convergeMs} ms after healing`)
          await converged([onA.doc, onB.document])
          await allAcknowledged(onB)
          assert.deepEqual(missing(await storedDoc(cluster, 'redis-partition'), written), [])
        } finally {
          b.redisProxy!.heal()
          disconnect(onA)
          disconnectHocuspocus(onB)
        }
      })

      it('[SO6] B cut off from Postgres for 5 s: its clients\' edits are neither acknowledged nor relayed meanwhile; after healing all converge with nothing lost and no further edit', { timeout: TEST_TIMEOUT_MS }, async () => {
        const onA = connectProvider(a.wsUrl, 'postgres-partition')
        const onB = connectHocuspocus(b.wsUrl, 'postgres-partition')
        const observerOnB = connectProvider(b.wsUrl, 'postgres-partition')
        try {
          await Promise.all([synced(onA), hocuspocusSynced(onB), synced(observerOnB)])
          await allAcknowledged(onB)
          b.postgresProxy!.cut()
          const cutAt = performance.now()
          await eventually(async () => (await readyz(b)) === 503, 'B did not report losing Postgres', 5000)
          const writers = [typist(onA.doc, 'a', 50), typist(onB.document, 'b', 50)]
          await delay(5000 - (performance.now() - cutAt))
          const [fromA = [], fromB = []] = await Promise.all(writers.map((writer) => writer.stop()))

          assert.equal(onB.unsyncedChanges, fromB.length, 'B acknowledged edits it could not store')
          assert.deepEqual(missing(onA.doc, fromB), fromB, 'an edit B could not store reached A')
          assert.deepEqual(missing(observerOnB.doc, fromB), fromB, 'an edit B could not store reached its other client')
          // What A stored still reaches B's clients over Redis.
          await eventually(() => missing(observerOnB.doc, fromA).length === 0, 'A\'s edits did not reach B\'s clients')

          b.postgresProxy!.heal()
          const written = [...fromA, ...fromB]
          const docs = [onA.doc, onB.document, observerOnB.doc]
          const convergeMs = await timeUntil(
            () => docs.every((doc) => missing(doc, written).length === 0) && onB.unsyncedChanges === 0,
            'the clients did not converge after healing',
            15_000,
          )
          console.log(`[SO6] ${written.length} edits; converged and acknowledged ${convergeMs} ms after healing`)
          assert.ok(convergeMs < 5000, `converged ${convergeMs} ms after healing`)
          await converged(docs)
          assert.deepEqual(missing(await storedDoc(cluster, 'postgres-partition'), written), [])
          await eventually(async () => (await readyz(b)) === 200, 'B was not ready again', 5000)
        } finally {
          b.postgresProxy!.heal()
          disconnect(onA, observerOnB)
          disconnectHocuspocus(onB)
        }
      })
    })

    it('[SO3] the presence of a client whose instance is SIGKILLed leaves the other instances within 15 s', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const cluster = await startCluster([{}, {}])
      t.after(() => cluster.dispose())
      const [a, doomed] = cluster.instances as [ClusterInstance, ClusterInstance]
      const observer = connectHocuspocus(a.wsUrl, 'dead-instance')
      const victim = connectProvider(doomed.wsUrl, 'dead-instance')
      try {
        await Promise.all([hocuspocusSynced(observer), synced(victim)])
        victim.awareness.setLocalStateField('user', { name: 'vic' })
        await presence(observer.awareness!, 'vic')
        const killedAt = performance.now()
        await doomed.kill()
        disconnect(victim)
        await presence(observer.awareness!, 'vic', false, 20_000)
        const goneMs = Math.round(performance.now() - killedAt)
        console.log(`[SO3] a dead instance's client left the presence on another instance ${goneMs} ms after SIGKILL`)
        assert.ok(goneMs < 15_000, `presence left after ${goneMs} ms`)
      } finally {
        disconnect(victim)
        disconnectHocuspocus(observer)
      }
    })

    it('[SO4] SIGKILL of an instance under load loses nothing any peer received, nor anything its writer had acknowledged', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const cluster = await startCluster([{}, {}])
      t.after(() => cluster.dispose())
      const [a, doomed] = cluster.instances as [ClusterInstance, ClusterInstance]
      const name = 'under-load'
      const writerOnA = connectProvider(a.wsUrl, name)
      const observerOnA = connectProvider(a.wsUrl, name)
      // The Hocuspocus writer counts its acknowledgements (sync status "applied").
      const writerOnDoomed = connectHocuspocus(doomed.wsUrl, name)
      // More writers there keep its store busy, so a kill finds writes queued behind others.
      const moreWritersOnDoomed = ['e', 'f', 'g'].map((prefix) => ({ prefix, client: connectProvider(doomed.wsUrl, name) }))
      const observerOnDoomed = connectHocuspocus(doomed.wsUrl, name)
      const yjsClients = [writerOnA, observerOnA, ...moreWritersOnDoomed.map(({ client }) => client)]
      const hocuspocusClients = [writerOnDoomed, observerOnDoomed]
      try {
        await Promise.all([
          ...yjsClients.map((client) => synced(client)),
          ...hocuspocusClients.map((client) => hocuspocusSynced(client)),
        ])
        await allAcknowledged(writerOnDoomed)
        const hocuspocusWriter = typist(writerOnDoomed.document, 'd', 1)
        const writers = [
          hocuspocusWriter,
          typist(writerOnA.doc, 'a', 1),
          ...moreWritersOnDoomed.map(({ prefix, client }) => typist(client.doc, prefix, 1)),
        ]
        // What the HTTP API on A serves meanwhile counts as received too.
        const servedByA = new Set<string>()
        let reading = true
        const reads = (async () => {
          while (reading) for (const token of tokens(await exportedDoc(a, name))) servedByA.add(token)
        })()
        const fromDoomed = () => [...tokens(observerOnA.doc)].filter((token) => !token.startsWith('a')).length
        await when(observerOnA.doc, 'update', () => fromDoomed() >= 500, 'the load did not flow from the doomed instance', 15_000)
        for (const client of hocuspocusClients) stopReconnecting(client)
        await doomed.kill()
        await Promise.all(writers.map((writer) => writer.stop()))
        reading = false
        await reads
        const typedOnDoomed = hocuspocusWriter.written
        const acknowledged = typedOnDoomed.slice(0, typedOnDoomed.length - writerOnDoomed.unsyncedChanges)

        // Received: what any client has from another writer, and what the HTTP API served.
        const received = new Set(servedByA)
        const own: Array<[Y.Doc, string]> = [
          [writerOnA.doc, 'a'], [observerOnA.doc, ''], [writerOnDoomed.document, 'd'], [observerOnDoomed.document, ''],
          ...moreWritersOnDoomed.map(({ prefix, client }): [Y.Doc, string] => [client.doc, prefix]),
        ]
        for (const [doc, prefix] of own) {
          for (const token of tokens(doc)) if (prefix === '' || !token.startsWith(prefix)) received.add(token)
        }
        const stored = await storedDoc(cluster, name)
        const lost = missing(stored, received)
        const lostAcknowledged = missing(stored, acknowledged)
        const receivedFromDoomed = [...received].filter((token) => !token.startsWith('a')).length
        console.log(
          `[SO4] killed with ${receivedFromDoomed} of its writers' edits received by peers and ${acknowledged.length} of `
          + `${typedOnDoomed.length} acknowledged to its Hocuspocus writer; ${tokens(stored).size} edits stored`,
        )
        assert.deepEqual(lost, [], `${lost.length} of ${received.size} received edits are not in the store`)
        assert.deepEqual(lostAcknowledged, [], `${lostAcknowledged.length} acknowledged edits are not in the store`)
        assert.ok(receivedFromDoomed >= 500 && acknowledged.length >= 50)
      } finally {
        disconnect(...yjsClients)
        disconnectHocuspocus(...hocuspocusClients)
      }
    })

    it('[SO10] a document deleted on A closes its clients on B with 4404, and no instance lets them back', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      // Deleting takes an admin token, so these instances require tokens.
      const withTokens = { env: { AUTH_SECRET: TEST_SECRET } }
      const cluster = await startCluster([withTokens, withTokens])
      t.after(() => cluster.dispose())
      const [a, b] = cluster.instances as [ClusterInstance, ClusterInstance]
      const token = await mintToken({ role: 'admin' })
      const authorization = { Authorization: `Bearer ${token}` }
      const response = await request(`${a.url}/api/documents/doomed/content`, {
        method: 'PUT',
        headers: { ...authorization, 'Content-Type': 'text/markdown' },
        body: 'soon gone\n',
      })
      assert.equal(response.status, 200)
      const onB = connectProvider(b.wsUrl, 'doomed', new Y.Doc(), token)
      const closes: number[] = []
      onB.on('closed', (event) => closes.push(event.code))
      try {
        await synced(onB)
        assert.ok(onB.doc.getXmlFragment('default').length > 0)
        const deleted = await request(`${a.url}/api/documents/doomed`, { method: 'DELETE', headers: authorization })
        assert.equal(deleted.status, 204)
        await when(onB, 'closed', () => closes.length === 1, 'the client on B was not closed')

        // The client still holds the content; reconnecting, here or elsewhere, does not bring it back.
        onB.connect()
        await when(onB, 'closed', () => closes.length === 2, 'the reconnect on B was not refused')
        const onA = connectProvider(a.wsUrl, 'doomed', onB.doc, token)
        const closesOnA: number[] = []
        onA.on('closed', (event) => closesOnA.push(event.code))
        try {
          await when(onA, 'closed', () => closesOnA.length === 1, 'the join on A was not refused')
        } finally {
          disconnect(onA)
        }
        assert.deepEqual([...closes, ...closesOnA], Array(3).fill(CloseCode.documentDeleted))
        for (const instance of [a, b]) assert.equal((await exported(instance, 'doomed', 'yjs', authorization)).status, 404)
      } finally {
        disconnect(onB)
      }
    })

    it('[SO9] start-up stops with exit code 1 and one line: REDIS_URL without DATABASE_URL, an unreachable DATABASE_URL or REDIS_URL (named, its password not shown)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const database = await temporaryDatabase()
      t.after(() => database.dispose())
      const password = 'pa55word-not-to-print'
      const cases: Array<{ env: Record<string, string>, says: RegExp }> = [
        { env: { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: '' }, says: /REDIS_URL needs DATABASE_URL/ },
        { env: { DATABASE_URL: `postgres://postgres:${password}@127.0.0.1:1/test` }, says: /DATABASE_URL/ },
        { env: { DATABASE_URL: database.url, REDIS_URL: `redis://:${password}@127.0.0.1:1` }, says: /REDIS_URL/ },
      ]
      const results = await Promise.all(cases.map(async ({ env }) => {
        const child = spawnChildServer(env)
        // Generous: starting three servers at once beside the other tests' load is slow on two cores.
        const { code } = await withTimeout(child.exited, 40_000, 'the server did not stop')
        return { code, stderr: child.stderr() }
      }))
      for (const [index, { code, stderr }] of results.entries()) {
        const { says } = cases[index]!
        assert.equal(code, 1, stderr)
        const lines = stderr.trimEnd().split('\n')
        assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`)
        assert.match(lines[0]!, says)
        assert.doesNotMatch(stderr, new RegExp(password))
      }
    })
  })
}
