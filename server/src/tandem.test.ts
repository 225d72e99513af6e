import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryStore } from '@tandem/persistence/memory-store'
import type { WebSocket } from 'ws'
import { CloseCode } from './close-codes.js'
import { connectProvider, disconnect, eventually, synced, when, withTimeout } from './test-support/clients.js'
import { inProcessApp } from './test-support/app.js'
import { ControlledStore } from './test-support/controlled-store.js'
import { startTestServer } from './test-support/server.js'

/** Pings the server and resolves on its pong, or on a close that came before it. */
function answered(socket: WebSocket): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      socket.once('pong', () => resolve())
      socket.once('close', () => resolve())
      socket.ping()
    }),
    5000,
    'the server did not answer a ping',
  )
}

describe('server lifecycle and HTTP', () => {
  it('[LC1] stop() waits for pending writes, then closes clients with 1012', async () => {
    const store = new ControlledStore()
    const server = await startTestServer({ store })
    const writer = connectProvider(server.wsUrl, 'stopping')
    await synced(writer)
    let closeCode = 0
    writer.on('connection-close', (event: { code: number } | null) => {
      closeCode ||= event?.code ?? 0
    })
    store.holdAppends = true
    writer.doc.getText('text').insert(0, 'in flight')
    await eventually(() => store.heldCount === 1, 'the write did not start')
    let storedWhenStopped = -1
    const stopping = server.stop().then(() => {
      storedWhenStopped = store.appended.length
    })
    // Whatever stop() has sent so far reaches the client before the answer to this ping.
    await answered(writer.ws as unknown as WebSocket)
    assert.equal(closeCode, 0, 'clients were closed before the write was stored')
    store.release()
    await stopping
    assert.equal(storedWhenStopped, 1, 'stop() returned before the write was stored')
    await when(writer, 'status', () => closeCode !== 0, 'the client was not closed')
    assert.equal(closeCode, CloseCode.serviceRestart)
    disconnect(writer)
  })

  it('[LC2] health, readiness and the landing page answer over HTTP', async () => {
    const store = new MemoryStore()
    const app = inProcessApp(store)
    assert.deepEqual(await (await app.request('/healthz')).json(), { status: 'ok' })
    assert.equal((await app.request('/readyz')).status, 200)
    const page = await app.request('http://tandem.test/')
    assert.match(await page.text(), /ws:\/\/tandem\.test\/collab/)
    const missing = await app.request('/nowhere')
    assert.equal(missing.status, 404)
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found')
    await store.close()
    const notReady = await app.request('/readyz')
    assert.equal(notReady.status, 503)
  })
})
