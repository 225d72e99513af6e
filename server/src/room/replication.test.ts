import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { SharedMemoryStore } from '@tandem/persistence/memory-store'
import type { WebSocket } from 'ws'
import type { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { JwtAuthenticator } from '../auth/jwt-authenticator.js'
import { type MemoryBus, MemoryHub } from '../bus/memory-bus.js'
import { CloseCode } from '../close-codes.js'
import { closed, connectProvider, converged, disconnect, eventually, synced, when } from '../test-support/clients.js'
import { startTestServer } from '../test-support/server.js'
import { mintToken, TEST_SECRET } from '../test-support/tokens.js'

type Instance = Awaited<ReturnType<typeof startTestServer>> & {
  readonly bus: MemoryBus
  readonly store: SharedMemoryStore
}

/**
 * Instances in this process, each with its own connection to one shared store and its own
 * member of one bus hub, as instances on Postgres and Redis are.
 */
async function cluster(
  count: number,
  options: { catchUpIntervalMs?: number, hubs?: 'one' | 'each', tokens?: boolean } = {},
) {
  const storage = new SharedMemoryStore()
  const shared = new MemoryHub()
  const instances: Instance[] = []
  for (let i = 0; i < count; i++) {
    const hub = options.hubs === 'each' ? new MemoryHub() : shared
    const bus = hub.bus()
    await bus.open()
    const store = storage.another()
    const server = await startTestServer({
      store,
      bus,
      catchUpIntervalMs: options.catchUpIntervalMs,
      authenticator: options.tokens === true ? new JwtAuthenticator(TEST_SECRET) : undefined,
    })
    instances.push(Object.assign(server, { bus, store }))
  }
  const providers: WebsocketProvider[] = []
  const connect = (instance: Instance, name: string, token?: string) => {
    const provider = connectProvider(instance.wsUrl, name, new Y.Doc(), token)
    providers.push(provider)
    return provider
  }
  after(async () => {
    disconnect(...providers)
    await Promise.all(instances.map((instance) => instance.stop()))
  })
  return { hub: shared, instances, connect, storage }
}

const text = (provider: WebsocketProvider) => provider.doc.getText('text').toString()
const names = (provider: WebsocketProvider) =>
  [...provider.awareness.getStates().values()]
    .map((state) => (state as { user?: { name?: string } }).user?.name)
    .sort()

describe('instances on one shared store and bus', () => {
  it('[RP1] an update stored on one instance reaches the clients of another once, and is stored once', async () => {
    const { hub, instances: [a, b], connect, storage } = await cluster(2)
    const writer = connect(a!, 'rp1')
    const reader = connect(b!, 'rp1')
    await Promise.all([synced(writer), synced(reader)])
    // A third member of the bus, listening: what crosses it for the document.
    const spy = hub.bus()
    await spy.open()
    const crossed: string[] = []
    spy.subscribe('rp1', (message, from) => {
      if (message.type === 'update') crossed.push(from === a!.bus.instance ? 'a' : 'b')
    })
    let updates = 0
    reader.doc.on('update', () => updates++)
    writer.doc.getText('text').insert(0, 'hello')
    await when(reader.doc, 'update', () => text(reader) === 'hello', 'the other instance never relayed the update')
    assert.equal(updates, 1, 'one relayed update')
    assert.deepEqual(crossed, ['a'], 'one publish, by the instance that stored it; none by the one that relayed it')
    assert.equal((await storage.revisions(['rp1'])).get('rp1'), 1, 'stored by the writer\'s instance only')
    // Back the other way, through the instance that only relayed so far.
    reader.doc.getText('text').insert(5, ' world')
    await when(writer.doc, 'update', () => text(writer) === 'hello world', 'the first instance never relayed the reply')
    assert.equal((await storage.revisions(['rp1'])).get('rp1'), 2)
    assert.deepEqual(crossed, ['a', 'b'])
    await spy.close()
  })

  it('[RP2] presence crosses instances and leaves with its client, and with its instance', async () => {
    const { hub, instances: [a, b], connect } = await cluster(2)
    const ada = connect(a!, 'rp2')
    const bob = connect(b!, 'rp2')
    await Promise.all([synced(ada), synced(bob)])
    ada.awareness.setLocalStateField('user', { name: 'Ada' })
    bob.awareness.setLocalStateField('user', { name: 'Bob' })
    await when(ada.awareness, 'change', () => names(ada).includes('Bob'), 'Ada never saw Bob')
    await when(bob.awareness, 'change', () => names(bob).includes('Ada'), 'Bob never saw Ada')
    // A client joining later gets the presence of the other instance's clients at once.
    const cy = connect(b!, 'rp2')
    await when(cy.awareness, 'change', () => names(cy).includes('Ada') && names(cy).includes('Bob'), 'a joiner did not get everyone')
    disconnect(cy)
    bob.disconnect()
    await when(ada.awareness, 'change', () => !names(ada).includes('Bob'), 'Bob stayed after he left')
    bob.connect()
    bob.awareness.setLocalStateField('user', { name: 'Bob' })
    await when(ada.awareness, 'change', () => names(ada).includes('Bob'), 'Ada never saw Bob come back')
    // B dies without a word: A forgets its clients as soon as the bus says so.
    hub.kill(b!.bus)
    await when(ada.awareness, 'change', () => !names(ada).includes('Bob'), 'the dead instance\'s client stayed')
  })

  it('[RP3] a partitioned instance converges when the bus heals, with no further edit', async () => {
    const { hub, instances: [a, b], connect } = await cluster(2)
    const left = connect(a!, 'rp3')
    const right = connect(b!, 'rp3')
    await Promise.all([synced(left), synced(right)])
    hub.partition(b!.bus)
    assert.equal(b!.bus.status().ready, false)
    const ready = await fetch(`${b!.url}/readyz`)
    assert.equal(ready.status, 503, '/readyz says the bus is down')
    assert.match(((await ready.json()) as { error: string }).error, /^bus: /)
    left.doc.getText('text').insert(0, 'left ')
    right.doc.getText('text').insert(0, 'right ')
    await eventually(() => a!.registry.loaded('rp3')?.doc.getText('text').length === 5 && b!.registry.loaded('rp3')?.doc.getText('text').length === 6, 'edits were not applied')
    assert.equal(text(left), 'left ', 'nothing crossed the partition')
    hub.heal(b!.bus)
    // B catches up at once (the bus says it is back); A at its next check of the store.
    await converged([left.doc, right.doc], 5_000)
    assert.ok(text(left).includes('left ') && text(left).includes('right '), text(left))
    assert.equal((await fetch(`${b!.url}/readyz`)).status, 200)
    // What the bus missed shows on /metrics, as catch-ups that found something.
    const caughtUp = async (instance: Instance) =>
      Number(/^tandem_caught_up_total (\d+)/m.exec(await (await fetch(`${instance.url}/metrics`)).text())?.[1])
    assert.ok(await caughtUp(a!) >= 1 && await caughtUp(b!) >= 1)
    const published = await (await fetch(`${a!.url}/metrics`)).text()
    assert.match(published, /^tandem_bus_published_total\{type="update"\} [1-9]/m)
  })

  it('[RP4] without any bus between them, instances converge from the store\'s revisions', async () => {
    const { instances: [a, b], connect } = await cluster(2, { hubs: 'each', catchUpIntervalMs: 50 })
    const left = connect(a!, 'rp4')
    const right = connect(b!, 'rp4')
    await Promise.all([synced(left), synced(right)])
    left.doc.getText('text').insert(0, 'from the left')
    right.doc.getText('text').insert(0, 'from the right ')
    await converged([left.doc, right.doc], 2_000)
    assert.equal(text(left).length, 'from the left'.length + 'from the right '.length)
  })

  it('[RP5] an HTTP read on one instance reflects a write acknowledged on another, bus or not', async () => {
    const { hub, instances: [a, b], connect } = await cluster(2)
    const reader = connect(b!, 'rp5')
    await synced(reader)
    hub.partition(b!.bus)
    const put = await fetch(`${a!.url}/api/documents/rp5/content`, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/markdown' },
      body: 'written on A',
    })
    assert.equal(put.status, 200)
    const read = await fetch(`${b!.url}/api/documents/rp5/content?format=markdown`)
    assert.equal(await read.text(), 'written on A')
    // Catching up for the read relayed it to the client there too.
    await when(reader.doc, 'update', () => reader.doc.getXmlFragment('default').toString().includes('written on A'), 'the client there did not get it')
  })

  it('[RP6] a document deleted on one instance closes its clients on another with 4404', async () => {
    const { instances: [a, b], connect } = await cluster(2, { tokens: true })
    const token = await mintToken({ role: 'admin' })
    const writer = connect(a!, 'rp6', token)
    const elsewhere = connect(b!, 'rp6', token)
    await Promise.all([synced(writer), synced(elsewhere)])
    writer.doc.getText('text').insert(0, 'doomed')
    await when(elsewhere.doc, 'update', () => text(elsewhere) === 'doomed', 'B never had the document')
    const closing = closed(elsewhere.ws as unknown as WebSocket)
    const deleted = await fetch(`${a!.url}/api/documents/rp6`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })
    assert.equal(deleted.status, 204)
    assert.equal((await closing).code, CloseCode.documentDeleted)
  })
})
