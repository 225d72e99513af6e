import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import type { HocuspocusProvider } from '@hocuspocus/provider'
import type { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import { CloseCode } from './close-codes.js'
import { connectProvider, converged, disconnect, eventually, synced, withTimeout } from './test-support/clients.js'
import type { Cluster, ClusterInstance } from './test-support/cluster.js'
import { startCluster } from './test-support/cluster.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from './test-support/hocuspocus.js'
import type { Nginx } from './test-support/nginx.js'
import { nginxSkipReason, startNginx } from './test-support/nginx.js'
import { redisSkipReason } from './test-support/redis.js'

const skip = nginxSkipReason() ?? await redisSkipReason()
const TEST_TIMEOUT_MS = 60_000
const ENV = { UNLOAD_DELAY_MS: '0' }

/** Tokens in a document's text: every writer inserts `<writer><n>;`. */
function tokens(doc: Y.Doc): Set<string> {
  return new Set(doc.getText('text').toString().split(';').filter(Boolean))
}

/** A client typing `<name><n>;` at the start of the text every 20 ms, until stopped. */
function typist(name: string, doc: Y.Doc) {
  const written: string[] = []
  let running = true
  const typing = (async () => {
    for (let n = 0; running; n++) {
      doc.getText('text').insert(0, `${name}${n};`)
      written.push(`${name}${n}`)
      await delay(20)
    }
  })()
  return {
    name,
    doc,
    written,
    stop: async () => {
      running = false
      await typing
    },
  }
}

type Typist = ReturnType<typeof typist>

/**
 * Resolves once each of `typists` (the clients of one document) has a token every other one
 * wrote after this call: all of them are connected again and their edits flow every way.
 */
async function flowing(typists: readonly Typist[], message: string): Promise<void> {
  const marks = new Map(typists.map((typist) => [typist, typist.written.length]))
  const seen = (reader: Typist, writer: Typist) => {
    const written = writer.written[marks.get(writer)!]
    return written !== undefined && tokens(reader.doc).has(written)
  }
  await eventually(
    () => typists.every((reader) => typists.every((writer) => writer === reader || seen(reader, writer))),
    message,
    20_000,
  )
}

describe('deployment: a rolling restart behind nginx', { skip, timeout: TEST_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined
  let nginx: Nginx | undefined
  const yjs: WebsocketProvider[] = []
  const hocuspocus: HocuspocusProvider[] = []
  const typists: Typist[] = []

  after(async () => {
    // A failed test must not leave them typing: the process would never end.
    await Promise.all(typists.map((typist) => typist.stop()))
    disconnect(...yjs)
    disconnectHocuspocus(...hocuspocus)
    await nginx?.stop()
    await cluster?.dispose()
  })

  it('[DP12] replicas restarted one after the other (SIGTERM, then a new one on the same port) lose nothing any client of either protocol wrote or received, and every client converges', async () => {
    cluster = await startCluster([{ env: ENV }, { env: ENV }])
    const replicas: ClusterInstance[] = [...cluster.instances]
    nginx = await startNginx({
      upstreams: Object.fromEntries(replicas.map((replica, index) => [`tandem-${index + 1}:1234`, new URL(replica.url).host])),
    })

    // Two documents: y-websocket clients of each are pinned by hash, Hocuspocus ones balanced.
    const closeCodes: number[] = []
    const clients: Array<{ name: string, document: string, protocol: 'yjs' | 'hocuspocus' }> = [
      { name: 'ya', document: 'rolling-a', protocol: 'yjs' },
      { name: 'yb', document: 'rolling-a', protocol: 'yjs' },
      { name: 'ha', document: 'rolling-a', protocol: 'hocuspocus' },
      { name: 'hb', document: 'rolling-a', protocol: 'hocuspocus' },
      { name: 'yc', document: 'rolling-b', protocol: 'yjs' },
      { name: 'hc', document: 'rolling-b', protocol: 'hocuspocus' },
    ]
    const docsOf = new Map<string, Y.Doc[]>()
    for (const client of clients) {
      let doc: Y.Doc
      if (client.protocol === 'yjs') {
        const provider = connectProvider(nginx.wsUrl, client.document)
        provider.on('connection-close', (event: { code: number } | null) => {
          if (event !== null) closeCodes.push(event.code)
        })
        yjs.push(provider)
        await synced(provider)
        doc = provider.doc
      } else {
        const provider = connectHocuspocus(nginx.wsUrl, client.document)
        hocuspocus.push(provider)
        await hocuspocusSynced(provider)
        doc = provider.document
      }
      docsOf.set(client.document, [...docsOf.get(client.document) ?? [], doc])
      typists.push(typist(client.name, doc))
    }
    const byDocument = [...docsOf.values()]
      .map((docs) => typists.filter((typist) => docs.includes(typist.doc)))
    for (const group of byDocument) await flowing(group, 'edits did not flow before the restart')

    for (const index of [0, 1]) {
      const old = replicas[index]!
      old.process.kill('SIGTERM')
      const exit = await withTimeout(old.exited, 15_000, `replica ${index + 1} did not stop on SIGTERM`)
      assert.equal(exit.code, 0, `replica ${index + 1} exits with 0 on SIGTERM`)
      replicas[index] = await cluster.start({ env: { ...ENV, PORT: new URL(old.url).port } })
      for (const group of byDocument) await flowing(group, `edits did not flow after restarting replica ${index + 1}`)
    }

    await Promise.all(typists.map((typist) => typist.stop()))
    for (const [document, docs] of docsOf) {
      await converged(docs, 20_000)
      // A client that joins now reads the store: it has everything too.
      const reader = connectProvider(nginx.wsUrl, document)
      yjs.push(reader)
      // As long as the convergence above may take: two cores also run other test files.
      await synced(reader, 20_000)
      await converged([...docs, reader.doc], 20_000)
      const final = tokens(reader.doc)
      for (const typist of typists.filter((candidate) => docs.includes(candidate.doc))) {
        const lost = typist.written.filter((token) => !final.has(token))
        assert.deepEqual(lost, [], `${typist.name} on ${document} lost edits`)
      }
    }
    // Every Hocuspocus client had each of its edits acknowledged by some replica.
    await eventually(() => hocuspocus.every((provider) => !provider.hasUnsyncedChanges), 'Hocuspocus edits were not acknowledged', 10_000)
    assert.ok(closeCodes.length >= 1, 'the y-websocket clients were disconnected by the restarts')
    if ('serviceRestart' in CloseCode) {
      assert.ok(closeCodes.includes(CloseCode.serviceRestart as number), `a SIGTERM closes with 1012 (saw ${closeCodes})`)
    }
  })
})
