import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import type { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { CloseCode } from './close-codes.js'
import { runRefusedServer, spawnChildServer, startChildServer } from './test-support/child-server.js'
import { connectProvider, disconnect, synced, when, withTimeout } from './test-support/clients.js'
import { temporaryDirectory } from './test-support/server.js'

/** Tokens in a document's text: every writer inserts `w<writer>-<n>;`. */
function tokens(doc: Y.Doc): Set<string> {
  return new Set(doc.getText('text').toString().split(';').filter(Boolean))
}

describe('the server process', () => {
  it('[PR1] killed with SIGKILL under load, it restarts with every update any client received', async () => {
    const dataDir = await temporaryDirectory()
    const first = await startChildServer({ DATA_DIR: dataDir.path })
    const writers = [0, 1, 2].map(() => connectProvider(first.wsUrl, 'crash'))
    const observer = connectProvider(first.wsUrl, 'crash')
    await Promise.all([...writers, observer].map((client) => synced(client)))
    let running = true
    const load = writers.map(async (writer, index) => {
      for (let n = 0; running; n++) {
        writer.doc.getText('text').insert(0, `w${index}-${n};`)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })
    await when(
      observer.doc,
      'update',
      () => tokens(observer.doc).size >= 150,
      'load did not flow',
      15_000,
    )
    first.process.kill('SIGKILL')
    await first.exited
    running = false
    await Promise.all(load)

    // What each client received from the server: everything but its own writes.
    const received = new Set<string>()
    for (const [index, client] of [...writers, observer].entries()) {
      for (const token of tokens(client.doc)) {
        if (!token.startsWith(`w${index}-`)) received.add(token)
      }
    }
    disconnect(...writers, observer)
    assert.ok(received.size >= 150)

    const second = await startChildServer({ DATA_DIR: dataDir.path })
    const reader = connectProvider(second.wsUrl, 'crash')
    await synced(reader, 15_000)
    const stored = tokens(reader.doc)
    const lost = [...received].filter((token) => !stored.has(token))
    assert.deepEqual(lost, [], `${lost.length} of ${received.size} received updates were lost`)
    disconnect(reader)
    second.process.kill('SIGTERM')
    await second.exited
    await dataDir.dispose()
  })

  it('[PR2] SIGTERM closes clients with 1012, keeps their edits, and exits 0', async () => {
    const dataDir = await temporaryDirectory()
    const server = await startChildServer({ DATA_DIR: dataDir.path })
    const writer = connectProvider(server.wsUrl, 'graceful')
    const reader = connectProvider(server.wsUrl, 'graceful')
    await Promise.all([synced(writer), synced(reader)])
    // Only the first close of each: a provider reconnecting to the stopped server closes again.
    const closeCodes = Promise.all([writer, reader].map((client) => new Promise<number>((resolve) => {
      client.on('connection-close', (event: { code: number } | null) => {
        if (event) resolve(event.code)
      })
    })))
    writer.doc.getText('text').insert(0, 'kept through shutdown')
    await when(reader.doc, 'update', () => reader.doc.getText('text').length > 0, 'not relayed')
    server.process.kill('SIGTERM')
    const { code } = await withTimeout(server.exited, 10_000, 'did not exit')
    assert.equal(code, 0)
    assert.deepEqual(
      await withTimeout(closeCodes, 5_000, 'clients were not closed'),
      [CloseCode.serviceRestart, CloseCode.serviceRestart],
    )
    disconnect(writer, reader)

    const again = await startChildServer({ DATA_DIR: dataDir.path })
    const check: WebsocketProvider = connectProvider(again.wsUrl, 'graceful')
    await synced(check)
    assert.equal(check.doc.getText('text').toString(), 'kept through shutdown')
    disconnect(check)
    again.process.kill('SIGTERM')
    await again.exited
    await dataDir.dispose()
  })

  it('[PR3] a bad environment variable stops start-up with one line naming it', async () => {
    const { code, stderr } = await runRefusedServer({ MAX_MESSAGE_BYTES: 'lots' })
    assert.equal(code, 1)
    assert.equal(stderr.trim().split('\n').length, 1, stderr)
    assert.match(stderr, /MAX_MESSAGE_BYTES/)
  })

  it('[PR4] a DATA_DIR that cannot be opened stops start-up with exit 1 and one line giving the cause', async () => {
    const dir = await temporaryDirectory()
    const file = `${dir.path}/plain-file`
    await writeFile(file, 'not a database')
    const unusable = [file]
    // Permissions do not stop root, so a read-only directory is tried only as another user.
    if (process.getuid?.() !== 0) {
      const readOnly = `${dir.path}/read-only`
      await mkdir(readOnly, { mode: 0o555 })
      unusable.push(readOnly)
    }
    for (const dataDir of unusable) {
      const { code, stderr } = await runRefusedServer({ DATA_DIR: dataDir })
      assert.equal(code, 1, stderr)
      assert.equal(stderr.trim().split('\n').length, 1, stderr)
      assert.match(stderr, new RegExp(`^tandem: cannot open DATA_DIR ${dataDir}: \\S`))
      assert.doesNotMatch(stderr, /Database is not open/)
    }
    await dir.dispose()
  })

  it('[PR5] started on the DATA_DIR of a Tandem still running, it waits (saying so once), then serves its documents', async () => {
    const dataDir = await temporaryDirectory()
    const first = await startChildServer({ DATA_DIR: dataDir.path })
    const writer = connectProvider(first.wsUrl, 'handed-over')
    await synced(writer)
    writer.doc.getText('text').insert(0, 'written to the old one')
    await eventuallyStored(first.url, 'handed-over')
    const second = spawnChildServer({ DATA_DIR: dataDir.path })
    await waitFor(() => /is locked by another process/.test(second.stdout()), 'no line saying the lock is held', 10_000)
    assert.doesNotMatch(second.stdout(), /listening on/)
    disconnect(writer)
    first.process.kill('SIGTERM')
    assert.equal((await first.exited).code, 0)
    const server = await second.listening()
    assert.equal(second.stdout().match(/is locked by another process/g)?.length, 1)
    const reader = connectProvider(server.wsUrl, 'handed-over')
    await synced(reader)
    assert.equal(reader.doc.getText('text').toString(), 'written to the old one')
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200)
    disconnect(reader)
    server.process.kill('SIGTERM')
    assert.equal((await server.exited).code, 0)
    await dataDir.dispose()
  })

  it('[PR6] SIGTERM with 2,000 documents loaded exits 0 within a few seconds, each document kept', async () => {
    const dataDir = await temporaryDirectory()
    const server = await startChildServer({ DATA_DIR: dataDir.path, UNLOAD_DELAY_MS: '600000' })
    const names = Array.from({ length: 2000 }, (_, i) => `loaded-${i}`)
    const doc = new Y.Doc()
    const first = captureUpdate(doc, () => doc.getText('text').insert(0, 'one'))
    const second = captureUpdate(doc, () => doc.getText('text').insert(3, ' two'))
    // Two stored updates each, so every document has something to compact.
    for (let start = 0; start < names.length; start += 100) {
      await Promise.all(names.slice(start, start + 100).map(async (name) => {
        for (const update of [first, second]) {
          const response = await fetch(`${server.url}/api/documents/${name}/content`, {
            method: 'PUT',
            headers: { 'Content-Type': 'application/octet-stream' },
            body: update,
          })
          assert.ok(response.ok, `${name}: ${response.status}`)
        }
      }))
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(metrics, /^tandem_documents_loaded(\{[^}]*\})? 2000$/m)
    const started = Date.now()
    server.process.kill('SIGTERM')
    const { code } = await withTimeout(server.exited, 15_000, 'did not exit')
    const shutdownMs = Date.now() - started
    console.log(`# shutdown with 2,000 documents loaded: ${shutdownMs} ms`)
    assert.equal(code, 0, server.stderr())
    assert.ok(shutdownMs < 5000, `shutdown took ${shutdownMs} ms`)
    const again = await startChildServer({ DATA_DIR: dataDir.path })
    for (const name of [names[0]!, names[1999]!]) {
      const response = await fetch(`${again.url}/api/documents/${name}/content?format=yjs`)
      const stored = new Y.Doc()
      Y.applyUpdate(stored, new Uint8Array(await response.arrayBuffer()))
      assert.equal(stored.getText('text').toString(), 'one two')
    }
    again.process.kill('SIGTERM')
    await again.exited
    await dataDir.dispose()
  })
})

/** The update `change` makes to `doc`. */
function captureUpdate(doc: Y.Doc, change: () => void): Uint8Array {
  let captured: Uint8Array | null = null
  const listener = (update: Uint8Array) => {
    captured = update
  }
  doc.on('update', listener)
  change()
  doc.off('update', listener)
  return captured!
}

/** Polls `condition` every 20 ms until it holds. */
async function waitFor(condition: () => boolean, message: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(message)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Waits until the server's HTTP API has the document stored. */
async function eventuallyStored(url: string, name: string): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    const response = await fetch(`${url}/api/documents/${name}`)
    if (response.ok) return
    if (Date.now() > deadline) throw new Error(`${name} was not stored`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
