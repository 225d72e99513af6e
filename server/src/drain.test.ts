import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { HocuspocusProvider } from '@hocuspocus/provider'
import type { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import { CloseCode } from './close-codes.js'
import { startChildServer } from './test-support/child-server.js'
import { connectProvider, disconnect, synced, when, withTimeout } from './test-support/clients.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from './test-support/hocuspocus.js'
import { startTestServer, temporaryDirectory } from './test-support/server.js'

/** Tokens in a document's text: every writer inserts `<writer>-<n>;`. */
function tokens(doc: Y.Doc): Set<string> {
  return new Set(doc.getText('text').toString().split(';').filter(Boolean))
}

/** The first close code a y-websocket provider sees from the server. */
function firstClose(provider: WebsocketProvider): Promise<number> {
  return new Promise((resolve) => {
    provider.on('connection-close', (event: { code: number } | null) => {
      if (event) resolve(event.code)
    })
  })
}

/**
 * The first close code a Hocuspocus provider sees from the server. The provider then stops
 * reconnecting: destroyed while a reconnect to the stopped server is still connecting, it
 * throws from `ws` ("closed before the connection was established").
 */
function firstHocuspocusClose(provider: HocuspocusProvider): Promise<number> {
  return new Promise((resolve) => {
    provider.on('close', ({ event }: { event: { code: number } }) => {
      provider.configuration.websocketProvider.disconnect()
      resolve(event.code)
    })
  })
}

describe('graceful drain', () => {
  it('[TL5] SIGTERM with edits in flight closes y-websocket and Hocuspocus clients with 1012, exits 0 within 5 s, and keeps every acknowledged edit', async () => {
    const dataDir = await temporaryDirectory()
    const server = await startChildServer({ DATA_DIR: dataDir.path })
    const socketWriter = connectProvider(server.wsUrl, 'drain')
    const observer = connectProvider(server.wsUrl, 'drain')
    const hocuspocusWriter = connectHocuspocus(server.wsUrl, 'drain')
    await Promise.all([synced(socketWriter), synced(observer), hocuspocusSynced(hocuspocusWriter)])
    const closes = [firstClose(socketWriter), firstClose(observer), firstHocuspocusClose(hocuspocusWriter)]
    const writers: Array<[string, Y.Doc]> = [['y', socketWriter.doc], ['h', hocuspocusWriter.document]]
    let writing = true
    const load = writers.map(async ([writer, doc]) => {
      for (let n = 0; writing; n++) {
        doc.getText('text').insert(0, `${writer}-${n};`)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })
    const fromEach = (prefix: string) =>
      [...tokens(observer.doc)].filter((token) => token.startsWith(prefix)).length
    await when(observer.doc, 'update', () => fromEach('y-') >= 100 && fromEach('h-') >= 100, 'load did not flow', 15_000)

    const signalled = performance.now()
    server.process.kill('SIGTERM')
    const { code } = await withTimeout(server.exited, 10_000, 'did not exit')
    const drainMs = performance.now() - signalled
    writing = false
    await Promise.all(load)
    assert.equal(code, 0)
    assert.ok(drainMs < 5_000, `the drain took ${Math.round(drainMs)} ms`)
    assert.deepEqual(
      await withTimeout(Promise.all(closes), 5_000, 'clients were not closed'),
      [CloseCode.serviceRestart, CloseCode.serviceRestart, CloseCode.serviceRestart],
    )

    // Acknowledged: relayed by the server to another client, which it does only once stored.
    const received = new Set<string>()
    for (const [reader, doc] of [['y', socketWriter.doc], ['o', observer.doc], ['h', hocuspocusWriter.document]] as const) {
      for (const token of tokens(doc)) {
        if (!token.startsWith(`${reader}-`)) received.add(token)
      }
    }
    disconnect(socketWriter, observer)
    disconnectHocuspocus(hocuspocusWriter)

    const again = await startChildServer({ DATA_DIR: dataDir.path })
    const check = connectProvider(again.wsUrl, 'drain')
    await synced(check, 15_000)
    const stored = tokens(check.doc)
    const lost = [...received].filter((token) => !stored.has(token))
    assert.deepEqual(lost, [], `${lost.length} of ${received.size} acknowledged edits were lost`)
    disconnect(check)
    again.process.kill('SIGTERM')
    await again.exited
    await dataDir.dispose()
  })

  it('[TL6] SIGINT drains like SIGTERM: clients closed with 1012, exit 0', async () => {
    const dataDir = await temporaryDirectory()
    const server = await startChildServer({ DATA_DIR: dataDir.path })
    const client = connectProvider(server.wsUrl, 'interrupted')
    await synced(client)
    const closeCode = firstClose(client)
    server.process.kill('SIGINT')
    assert.equal((await withTimeout(server.exited, 10_000, 'did not exit')).code, 0)
    assert.equal(await withTimeout(closeCode, 5_000, 'not closed'), CloseCode.serviceRestart)
    disconnect(client)
    await dataDir.dispose()
  })

  it('[TL7] stop() closes clients with 1012 by default, and with 1001 when told the server goes for good', async () => {
    const cases = [[undefined, CloseCode.serviceRestart], [CloseCode.goingAway, CloseCode.goingAway]] as const
    for (const [stopCode, expected] of cases) {
      const server = await startTestServer()
      const client = connectProvider(server.wsUrl, 'stopped')
      await synced(client)
      const closeCode = firstClose(client)
      await server.stop(stopCode)
      assert.equal(await withTimeout(closeCode, 5_000, 'not closed'), expected)
      disconnect(client)
    }
  })
})
