import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { HocuspocusProvider } from '@hocuspocus/provider'
import type { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import { type ChildServer, startChildServer } from './test-support/child-server.js'
import { connectProvider, disconnect, eventually, synced, when } from './test-support/clients.js'
import type { Cluster, ClusterInstance } from './test-support/cluster.js'
import { startCluster } from './test-support/cluster.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from './test-support/hocuspocus.js'
import { redisSkipReason } from './test-support/redis.js'
import { temporaryDirectory } from './test-support/server.js'
import { type ReceivedWebhook, WebhookReceiver } from './test-support/webhook-receiver.js'
import { newWebhookSecret } from './webhooks/signature.js'

const skip = await redisSkipReason()
/** Every test ends, passed or failed, well within this: nothing can hang the suite. */
const TEST_TIMEOUT_MS = 40_000

/** Whether a server's last webhook round left nothing queued (no delivery pending, no event waiting). */
async function queueEmpty(server: Pick<ChildServer, 'url'>): Promise<boolean> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  return /^tandem_webhook_queue_depth 0$/m.test(metrics)
}

/** A counter of `/metrics`, 0 when it has no sample yet. */
async function metric(server: Pick<ChildServer, 'url'>, sample: string): Promise<number> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}

/** How many times each `webhook-id` among `deliveries` occurs. */
function countsById(deliveries: readonly ReceivedWebhook[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const delivery of deliveries) counts.set(delivery.id, (counts.get(delivery.id) ?? 0) + 1)
  return counts
}

/** The deliveries of `type` for `document`. */
function about(deliveries: readonly ReceivedWebhook[], type: string, document: string): ReceivedWebhook[] {
  return deliveries.filter((delivery) => delivery.type === type && delivery.data.document === document)
}

/** Resolves once `reader` has `text` in its `text`, which the server relays only once stored. */
function sees(reader: Y.Doc, text: string): Promise<void> {
  return when(reader, 'update', () => reader.getText('text').toString().includes(text), `"${text}" was not relayed`)
}

describe('webhooks across a crash', () => {
  it('[WH16] a change stored just before SIGKILL is delivered after the restart, once, as the quiet period ends', { timeout: TEST_TIMEOUT_MS }, async () => {
    const receiver = await new WebhookReceiver().listen()
    const secret = newWebhookSecret()
    receiver.secret = secret
    const dataDir = await temporaryDirectory()
    // LevelDB in DATA_DIR, whatever the test process's own environment names.
    const env = {
      DATA_DIR: dataDir.path, DATABASE_URL: '', REDIS_URL: '',
      WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: 'true',
    }
    const servers: ChildServer[] = []
    const providers: WebsocketProvider[] = []
    try {
      const first = await startChildServer(env)
      servers.push(first)
      const writer = connectProvider(first.wsUrl, 'wh-durable')
      const observer = connectProvider(first.wsUrl, 'wh-durable')
      providers.push(writer, observer)
      await Promise.all([synced(writer), synced(observer)])

      // The document exists, and its document.created is delivered and settled, before the crash.
      writer.doc.getText('text').insert(0, 'before;')
      await eventually(() => about(receiver.received, 'document.created', 'wh-durable').length === 1, 'no document.created')
      await eventually(async () => {
        const listed = await (await fetch(`${first.url}/api/webhooks/env/deliveries`)).json() as { deliveries: Array<{ status: string }> }
        return listed.deliveries.length === 1 && listed.deliveries[0]!.status === 'delivered'
      }, 'document.created was not settled')

      // An edit of it and the first write of another document, both stored (relayed), then SIGKILL.
      const other = connectProvider(first.wsUrl, 'wh-durable-new')
      const otherObserver = connectProvider(first.wsUrl, 'wh-durable-new')
      providers.push(other, otherObserver)
      await Promise.all([synced(other), synced(otherObserver)])
      const editedAt = Date.now()
      writer.doc.getText('text').insert(0, 'crash;')
      other.doc.getText('text').insert(0, 'new;')
      await Promise.all([sees(observer.doc, 'crash;'), sees(otherObserver.doc, 'new;')])
      first.process.kill('SIGKILL')
      await first.exited
      const killedAfter = Date.now() - editedAt
      assert.ok(killedAfter < 1_500, `killed ${killedAfter} ms after the edit: too close to the 2 s quiet period`)
      assert.deepEqual(receiver.of('document.updated'), [], 'document.updated was sent before the edits paused')
      disconnect(...providers.splice(0))

      const second = await startChildServer(env)
      servers.push(second)
      await eventually(
        () => about(receiver.received, 'document.updated', 'wh-durable').length >= 1
          && about(receiver.received, 'document.created', 'wh-durable-new').length >= 1,
        'the change stored before the crash was never delivered',
        10_000,
      )
      await eventually(() => queueEmpty(second), 'the restarted server kept a queue')

      assert.deepEqual(receiver.unverified, [])
      assert.equal(about(receiver.received, 'document.updated', 'wh-durable').length, 1, 'document.updated delivered more than once')
      assert.equal(about(receiver.received, 'document.created', 'wh-durable').length, 1, 'the settled document.created was sent again')
      // Sent before the kill or after it, but under one webhook-id (a resend is a duplicate receivers drop).
      const created = about(receiver.received, 'document.created', 'wh-durable-new')
      assert.equal(new Set(created.map((delivery) => delivery.id)).size, 1, 'the new document\'s creation was told as two events')
      assert.deepEqual(receiver.received.filter((delivery) => delivery.type !== 'document.created' && delivery.type !== 'document.updated'), [])
      const reader = connectProvider(second.wsUrl, 'wh-durable')
      providers.push(reader)
      await synced(reader)
      assert.equal(reader.doc.getText('text').toString(), 'crash;before;')
    } finally {
      disconnect(...providers)
      for (const server of servers) {
        server.process.kill('SIGKILL')
        await server.exited
      }
      await receiver.close()
      await dataDir.dispose()
    }
  })
})

/** Registers an endpoint for every event through `instance`'s API (open mode: no token). */
async function register(instance: ClusterInstance, receiver: WebhookReceiver): Promise<string> {
  const response = await fetch(`${instance.url}/api/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url }),
  })
  assert.equal(response.status, 201, await response.clone().text())
  const endpoint = await response.json() as { id: string, secret: string }
  receiver.secret = endpoint.secret
  return endpoint.id
}

if (skip !== undefined) {
  describe('webhooks from several instances', { skip }, () => {})
} else {
  describe('webhooks from several instances', () => {
    it('[WH17] two instances on Postgres and Redis deliver each event once, retries included, for edits made on both', { timeout: TEST_TIMEOUT_MS }, async () => {
      const receiver = await new WebhookReceiver().listen()
      // Every event's first attempt is refused: each is retried, by whichever instance claims it.
      const tried = new Set<string>()
      receiver.answer = (attempt) => {
        const first = !tried.has(attempt.id)
        tried.add(attempt.id)
        return { status: first ? 500 : 200 }
      }
      const env = { WEBHOOK_ALLOW_PRIVATE: 'true' }
      let cluster: Cluster | undefined
      const onA: WebsocketProvider[] = []
      const onB: HocuspocusProvider[] = []
      try {
        cluster = await startCluster([{ env }, { env }])
        const [a, b] = cluster.instances as [ClusterInstance, ClusterInstance]
        const endpoint = await register(a, receiver)
        // B reads the endpoints again on its own every 5 s; its list reads them now.
        await eventually(async () => {
          const listed = await (await fetch(`${b.url}/api/webhooks`)).json() as { webhooks: Array<{ id: string }> }
          return listed.webhooks.some((webhook) => webhook.id === endpoint)
        }, 'instance B never saw the endpoint')

        const documents = Array.from({ length: 5 }, (_, index) => `wh-cluster-${index}`)
        for (const name of documents) {
          onA.push(connectProvider(a.wsUrl, name))
          onB.push(connectHocuspocus(b.wsUrl, name))
        }
        await Promise.all([
          ...onA.map((provider) => synced(provider)),
          ...onB.map((provider) => hocuspocusSynced(provider)),
        ])
        // A writes first and B waits to see it, so the first write of each document is A's alone.
        await Promise.all(documents.map(async (_, index) => {
          const [yjs, hocuspocus] = [onA[index]!.doc, onB[index]!.document]
          for (let round = 0; round < 3; round++) {
            yjs.getText('text').insert(0, `a${round};`)
            await sees(hocuspocus, `a${round};`)
            hocuspocus.getText('text').insert(0, `b${round};`)
            await sees(yjs, `b${round};`)
          }
        }))
        const put = await fetch(`${b.url}/api/documents/${documents[0]}/content`, {
          method: 'PUT',
          headers: { 'content-type': 'text/markdown' },
          body: 'Replaced through B.',
        })
        assert.equal(put.status, 200, await put.clone().text())

        const told = (type: string) =>
          documents.every((name) => about(receiver.received, type, name).length >= 1)
        await eventually(() => told('document.created') && told('document.updated'), 'not every document\'s events arrived', 20_000)
        await eventually(async () => await queueEmpty(a) && await queueEmpty(b), 'the instances kept a queue', 10_000)

        assert.deepEqual(receiver.unverified, [])
        const acknowledged = countsById(receiver.received)
        const twice = [...acknowledged].filter(([, count]) => count !== 1)
        assert.deepEqual(twice, [], 'an event was acknowledged more than once')
        const attempts = countsById(receiver.attempts)
        assert.deepEqual([...attempts.values()].filter((count) => count !== 2), [], 'an event was not tried exactly twice (refused, then acknowledged)')
        // A writes each document first; B's writes come after it has A's, so they are updates.
        const created = documents.map((name) => about(receiver.received, 'document.created', name).length)
        assert.deepEqual(created, documents.map(() => 1), 'document.created told other than once per document')
        for (const name of documents) {
          // Two instances promoting the same records would give overlapping events.
          const spans = about(receiver.received, 'document.updated', name)
            .map(({ data }) => [Date.parse(String(data.firstAt)), Date.parse(String(data.lastAt))] as const)
            .sort(([first], [second]) => first - second)
          for (const [index, [firstAt, lastAt]] of spans.entries()) {
            assert.ok(firstAt <= lastAt, `${name}: a document.updated ends before it starts`)
            if (index > 0) assert.ok(firstAt > spans[index - 1]![1], `${name}: two document.updated events hold the same edits`)
          }
        }
        assert.deepEqual(new Set(receiver.received.map((delivery) => delivery.type)), new Set(['document.created', 'document.updated']))

        // Every acknowledged attempt is counted by the instance that made it, and by one only.
        const delivered = await Promise.all([a, b].map((instance) => metric(instance, 'tandem_webhook_attempts_total{result="delivered"}')))
        const failed = await Promise.all([a, b].map((instance) => metric(instance, 'tandem_webhook_attempts_total{result="failed"}')))
        assert.equal(delivered[0]! + delivered[1]!, acknowledged.size)
        assert.equal(failed[0]! + failed[1]!, acknowledged.size)
        for (const instance of [a, b]) {
          assert.deepEqual([instance.process.exitCode, instance.process.signalCode], [null, null], 'an instance died')
        }
        console.log(`[WH17] ${acknowledged.size} events; delivered by A ${delivered[0]}, by B ${delivered[1]}; refused attempts by A ${failed[0]}, by B ${failed[1]}`)
      } finally {
        disconnect(...onA)
        disconnectHocuspocus(...onB)
        await cluster?.dispose()
        await receiver.close()
      }
    })
  })
}
