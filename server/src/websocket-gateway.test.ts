import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { CloseCode } from './close-codes.js'
import {
  closed,
  connectProvider,
  disconnect,
  eventually,
  openRawSocket,
  stalledClient,
  synced,
  when,
} from './test-support/clients.js'
import { startTestServer } from './test-support/server.js'

/** Frames that must close their socket with 1002, and why. */
const malformed: Array<[string, number[]]> = [
  ['an empty frame', []],
  ['an unknown message type', [99]],
  ['an unknown sync message type', [0, 7, 0]],
  ['a length past the end', [0, 2, 50, 1, 2]],
  ['an update that is not a Yjs update', [0, 2, 5, 1, 2, 3, 4, 5]],
  ['a state vector that is not one', [0, 0, 3, 255, 255, 255]],
  ['awareness that is not JSON', [1, 8, 1, 7, 1, 4, ...Buffer.from('{no}')]],
]

describe('what reaches the WebSocket endpoint', () => {
  it('[GW1] malformed, oversized and text frames close only their own socket', async () => {
    const server = await startTestServer({ maxMessageBytes: 64 * 1024 })
    const ada = connectProvider(server.wsUrl, 'guarded')
    const bob = connectProvider(server.wsUrl, 'guarded')
    await Promise.all([synced(ada), synced(bob)])
    ada.doc.getText('text').insert(0, 'untouched')
    await when(bob.doc, 'update', () => bob.doc.getText('text').length > 0, 'not relayed')
    const state = Y.encodeStateAsUpdate(server.registry.loaded('guarded')!.doc)

    for (const [what, bytes] of malformed) {
      const socket = await openRawSocket(`${server.wsUrl}/guarded`)
      socket.send(new Uint8Array(bytes))
      assert.equal((await closed(socket)).code, CloseCode.protocolError, what)
    }
    const texting = await openRawSocket(`${server.wsUrl}/guarded`)
    texting.send('hello')
    assert.equal((await closed(texting)).code, CloseCode.unsupportedData)
    const oversized = await openRawSocket(`${server.wsUrl}/guarded`)
    oversized.send(new Uint8Array(64 * 1024 + 1))
    assert.equal((await closed(oversized)).code, CloseCode.messageTooBig)

    const room = server.registry.loaded('guarded')
    assert.ok(room, 'the room should still be loaded')
    assert.deepEqual(Y.encodeStateAsUpdate(room.doc), state, 'bad input changed the document')
    assert.ok(ada.wsconnected && bob.wsconnected, 'a good client was disconnected')
    ada.doc.getText('text').insert(0, 'still ')
    await when(
      bob.doc,
      'update',
      () => bob.doc.getText('text').toString() === 'still untouched',
      'relay broke',
    )
    disconnect(ada, bob)
    await server.stop()
  })

  it('[GW2] bad document names are closed with 4400 before any work', async () => {
    const server = await startTestServer()
    const bad = [
      '',
      '.hidden',
      'a%2Fb',
      'a/b',
      'with space',
      'x'.repeat(201),
      '%E0%A4%A',
      'semi;colon',
    ]
    for (const name of bad) {
      const socket = new WebSocket(`${server.wsUrl}/${name}`)
      const frames: unknown[] = []
      socket.on('message', (frame) => frames.push(frame))
      assert.equal(
        (await closed(socket)).code,
        CloseCode.invalidDocumentName,
        `name ${JSON.stringify(name)}`,
      )
      assert.deepEqual(frames, [], `name ${JSON.stringify(name)} got a frame`)
    }
    assert.equal(server.registry.size, 0)
    const good = connectProvider(server.wsUrl, encodeURIComponent('Notes:2026~Überblick.v1_日本-x'))
    await synced(good)
    assert.equal(server.registry.size, 1)
    disconnect(good)
    const elsewhere = new WebSocket(`${server.url.replace('http', 'ws')}/elsewhere`)
    elsewhere.on('error', () => {})
    const status = await new Promise((resolve) => {
      elsewhere.once('unexpected-response', (_, response) => resolve(response.statusCode))
    })
    assert.equal(status, 404)
    await server.stop()
  })

  it('[GW3] a socket that stops answering pings is dropped; a live one is kept', async () => {
    const server = await startTestServer({ pingIntervalMs: 40 })
    const live = connectProvider(server.wsUrl, 'pings')
    await synced(live)
    const silent = new WebSocket(`${server.wsUrl}/pings`, { autoPong: false })
    const { code } = await closed(silent, 2000)
    assert.equal(code, 1006, 'the silent socket should be dropped without a close frame')
    assert.ok(live.wsconnected)
    disconnect(live)
    await server.stop()
  })

  it('[GW4] a client that does not read is closed, not buffered without bound', async () => {
    const server = await startTestServer({ maxBufferedBytes: 256 * 1024 })
    const writer = connectProvider(server.wsUrl, 'flood')
    await synced(writer)
    const stalled = await stalledClient(server.port, '/collab/flood')
    await eventually(
      () => server.registry.loaded('flood')?.peerCount === 2,
      'stalled client not joined',
    )
    const chunk = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 400 && server.registry.loaded('flood')?.peerCount === 2; i++) {
      writer.doc.getText('text').insert(0, chunk)
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await eventually(
      () => server.registry.loaded('flood')?.peerCount === 1,
      'the stalled client was kept',
    )
    assert.ok(writer.wsconnected)
    stalled.destroy()
    disconnect(writer)
    await server.stop()
  })
})

describe('frames on the wire', () => {
  it('[GW7] messages of every WebSocket length encoding arrive intact', async () => {
    const server = await startTestServer()
    const writer = connectProvider(server.wsUrl, 'lengths')
    const reader = connectProvider(server.wsUrl, 'lengths')
    await Promise.all([synced(writer), synced(reader)])
    const text = writer.doc.getText('text')
    for (const size of [10, 125, 126, 1000, 65_535, 65_536, 200_000]) {
      const chunk = String.fromCharCode(97 + (size % 26)).repeat(size)
      text.insert(text.length, chunk)
      await when(reader.doc, 'update', () => reader.doc.getText('text').length === text.length, `${size} bytes lost`)
    }
    assert.equal(reader.doc.getText('text').toString(), text.toString())
    const late = connectProvider(server.wsUrl, 'lengths')
    await synced(late)
    assert.equal(late.doc.getText('text').toString(), text.toString())
    disconnect(writer, reader, late)
    await server.stop()
  })
})

describe('origins and rates', () => {
  it('[GW5] with ALLOWED_ORIGINS, upgrades from other origins are refused with 403', async () => {
    const server = await startTestServer({ allowedOrigins: new Set(['https://app.example']) })
    const status = (origin: string) => {
      const socket = new WebSocket(`${server.wsUrl}/origins`, { origin })
      socket.on('error', () => {})
      return new Promise<number>((resolve) => {
        socket.once('unexpected-response', (_, response) => resolve(response.statusCode ?? 0))
        socket.once('open', () => {
          socket.close()
          resolve(101)
        })
      })
    }
    assert.equal(await status('https://evil.example'), 403)
    assert.equal(await status('https://app.example'), 101)
    const hocuspocus = new WebSocket(server.wsUrl, { origin: 'https://evil.example' })
    hocuspocus.on('error', () => {})
    const refused = await new Promise<number>((resolve) => {
      hocuspocus.once('unexpected-response', (_, response) => resolve(response.statusCode ?? 0))
    })
    assert.equal(refused, 403)
    const stock = connectProvider(server.wsUrl, 'origins')
    await synced(stock)
    disconnect(stock)
    await server.stop()
  })

  it('[GW6] a connection sending past its message rate is closed with 1008; others are not', async () => {
    const server = await startTestServer({ messagesPerSecond: 5, messageBurst: 20 })
    const calm = connectProvider(server.wsUrl, 'rates')
    await synced(calm)
    const flooder = await openRawSocket(`${server.wsUrl}/rates`)
    const closing = closed(flooder)
    for (let i = 0; i < 40; i++) flooder.send(new Uint8Array([3]))
    assert.equal((await closing).code, CloseCode.policyViolation)
    calm.doc.getText('text').insert(0, 'still fine')
    const other = connectProvider(server.wsUrl, 'rates')
    await synced(other)
    await when(other.doc, 'update', () => other.doc.getText('text').length > 0, 'the calm client was affected')
    assert.ok(calm.wsconnected)
    disconnect(calm, other)
    await server.stop()
  })
})
