import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import { CloseCode } from '../close-codes.js'
import {
  closed,
  connectProvider,
  disconnect,
  eventually,
  openRawSocket,
  synced,
  when,
} from '../test-support/clients.js'
import { ControlledStore } from '../test-support/controlled-store.js'
import { startTestServer } from '../test-support/server.js'

async function storedText(store: ControlledStore, name: string): Promise<string> {
  const doc = new Y.Doc()
  const state = await store.inner.load(name)
  if (state !== null) Y.applyUpdate(doc, state)
  return doc.getText('text').toString()
}

async function seed(store: ControlledStore, name: string, text: string): Promise<void> {
  const doc = new Y.Doc()
  doc.getText('text').insert(0, text)
  await store.inner.append(name, [Y.encodeStateAsUpdate(doc)])
}

describe('loading and unloading documents', () => {
  it('[RR1] joiners during a slow load share it and never see an empty document', async () => {
    const store = new ControlledStore()
    await seed(store, 'slow', 'stored long ago')
    const server = await startTestServer({ store })
    store.holdLoads = true
    const first = connectProvider(server.wsUrl, 'slow')
    const second = connectProvider(server.wsUrl, 'slow')
    const seenAtSync: string[] = []
    for (const provider of [first, second]) {
      provider.on('sync', () => seenAtSync.push(provider.doc.getText('text').toString()))
    }
    await eventually(() => store.heldCount === 1, 'the first joiner did not start one load')
    await when(second, 'status', () => second.wsconnected, 'second did not connect')
    assert.equal(store.heldCount, 1, 'the second joiner started a load of its own')
    store.release()
    await Promise.all([synced(first), synced(second)])
    assert.deepEqual(seenAtSync, ['stored long ago', 'stored long ago'])
    disconnect(first)
    disconnect(second)
    await server.stop()
  })

  it('[RR2] a failed load closes its joiners with 1011 and is retried by the next joiner', async () => {
    const store = new ControlledStore()
    await seed(store, 'flaky', 'still here')
    const server = await startTestServer({ store })
    store.failLoads = true
    const socket = await openRawSocket(`${server.wsUrl}/flaky`)
    assert.equal((await closed(socket)).code, CloseCode.internalError)
    assert.equal(server.registry.size, 0)
    store.failLoads = false
    const provider = connectProvider(server.wsUrl, 'flaky')
    await synced(provider)
    assert.equal(provider.doc.getText('text').toString(), 'still here')
    disconnect(provider)
    await server.stop()
  })

  it('[RR3] a failed write closes the document with 1011; clients resend on reconnect', async () => {
    const store = new ControlledStore()
    const server = await startTestServer({ store })
    const writer = connectProvider(server.wsUrl, 'failing')
    const reader = connectProvider(server.wsUrl, 'failing')
    await Promise.all([synced(writer), synced(reader)])
    const disconnected = when(writer, 'status', () => !writer.wsconnected, 'writer not closed')
    store.failAppends = true
    writer.doc.getText('text').insert(0, 'must survive')
    await disconnected
    store.failAppends = false
    await when(reader.doc, 'update', () => reader.doc.getText('text').length > 0, 'never resent')
    await eventually(() => store.appended.length > 0, 'never stored')
    assert.equal(await storedText(store, 'failing'), 'must survive')
    const health = await fetch(`${server.url}/healthz`)
    assert.equal(health.status, 200)
    disconnect(writer)
    disconnect(reader)
    await server.stop()
  })

  it('[RR6] while the store is unreachable a write is retried, nothing acknowledged or relayed until it is stored', async () => {
    const store = new ControlledStore()
    const server = await startTestServer({ store })
    const writer = connectProvider(server.wsUrl, 'unreachable')
    const reader = connectProvider(server.wsUrl, 'unreachable')
    await Promise.all([synced(writer), synced(reader)])
    let drops = 0
    for (const provider of [writer, reader]) {
      provider.on('status', ({ status }: { status: string }) => {
        if (status === 'disconnected') drops++
      })
    }
    store.unreachable = true
    writer.doc.getText('text').insert(0, 'held back')
    await eventually(() => store.unreachableAppends >= 3, 'the write was not retried')
    assert.equal(reader.doc.getText('text').toString(), '', 'relayed before it was stored')
    store.unreachable = false
    await when(reader.doc, 'update', () => reader.doc.getText('text').toString() === 'held back', 'never relayed once stored', 5_000)
    assert.equal(drops, 0, 'the clients kept their connections')
    assert.equal(await storedText(store, 'unreachable'), 'held back')
    disconnect(writer, reader)
    await server.stop()
  })

  it('[RR7] a store unreachable for longer than the retry window closes the document with 1011', async () => {
    const store = new ControlledStore()
    const server = await startTestServer({ store, storeRetryMs: 300 })
    const writer = connectProvider(server.wsUrl, 'gone')
    await synced(writer)
    const disconnected = when(writer, 'status', () => !writer.wsconnected, 'writer not closed', 5_000)
    store.unreachable = true
    writer.doc.getText('text').insert(0, 'kept by the client')
    await disconnected
    store.unreachable = false
    // The client still has its edit and sends it again once it reconnects.
    await eventually(async () => (await storedText(store, 'gone')) === 'kept by the client', 'never resent')
    disconnect(writer)
    await server.stop()
  })

  it('[RR4] an idle room is unloaded after the delay and its memory released', async () => {
    const store = new ControlledStore()
    const server = await startTestServer({ store, unloadDelayMs: 20 })
    const provider = connectProvider(server.wsUrl, 'idle')
    await synced(provider)
    provider.doc.getText('text').insert(0, 'kept after unload')
    await eventually(() => store.appended.length > 0, 'never stored')
    assert.ok(server.registry.loaded('idle'))
    const released = new WeakRef(server.registry.loaded('idle')!.doc)
    disconnect(provider)
    await eventually(() => server.registry.size === 0, 'the idle room was not unloaded')
    assert.equal(await storedText(store, 'idle'), 'kept after unload')
    const gc = (globalThis as { gc?: () => void }).gc
    assert.ok(gc, 'run the tests with --expose-gc')
    await eventually(() => {
      gc()
      return released.deref() === undefined
    }, 'the unloaded document is still in memory')
    await server.stop()
  })

  it('[RR5] a joiner arriving while a room unloads gets the whole document', async () => {
    const store = new ControlledStore()
    const server = await startTestServer({ store, unloadDelayMs: 0 })
    const writer = connectProvider(server.wsUrl, 'unloading')
    await synced(writer)
    writer.doc.getText('text').insert(0, 'written before unload')
    await eventually(() => store.appended.length > 0, 'never stored')
    store.holdCompacts = true
    disconnect(writer)
    await eventually(() => store.heldCount === 1, 'the room did not start unloading')
    const joiner = connectProvider(server.wsUrl, 'unloading')
    await when(joiner, 'status', () => joiner.wsconnected, 'joiner did not connect')
    store.release()
    await synced(joiner)
    assert.equal(joiner.doc.getText('text').toString(), 'written before unload')
    disconnect(joiner)
    await server.stop()
  })
})
