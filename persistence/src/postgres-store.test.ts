import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import type { AddressInfo, Socket } from 'node:net'
import { connect, createServer } from 'node:net'
import type { TestContext } from 'node:test'
import { describe, it } from 'node:test'
import pg from 'pg'
import { StoreError, StoreUnavailableError } from './document-store.js'
import type { PostgresStoreOptions } from './postgres-store.js'
import { PostgresStore } from './postgres-store.js'
import { describeOutbox } from './outbox-contract.js'
import { describeSharedStore } from './shared-store-contract.js'
import { assertSameContent, describeDocumentStore, editedDocument, nextTurn } from './store-contract.js'
import type { TemporaryDatabase } from './test-support/postgres.js'
import { temporaryDatabase } from './test-support/postgres.js'

/** A store opened on `url`. */
async function openStore(url: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const store = new PostgresStore({ ...options, connectionString: url })
  await store.open()
  return store
}

/** A new database dropped when the test ends, passed or failed, after the stores it opened close. */
async function databaseFor(t: TestContext): Promise<TemporaryDatabase & { open(): Promise<PostgresStore> }> {
  const database = await temporaryDatabase()
  const stores: PostgresStore[] = []
  t.after(async () => {
    try {
      await Promise.all(stores.map((store) => store.close()))
    } finally {
      await database.dispose()
    }
  })
  return {
    ...database,
    open: async () => {
      const store = new PostgresStore({ connectionString: database.url, poolSize: 4 })
      stores.push(store)
      await store.open()
      return store
    },
  }
}

/** A fixture's stores and database, closed and dropped together. */
function fixtureOf(database: TemporaryDatabase, first: PostgresStore) {
  let store = first
  const others: PostgresStore[] = []
  return {
    get store() {
      return store
    },
    reopen: async () => {
      await store.close()
      store = await openStore(database.url)
      return store
    },
    second: async (): Promise<PostgresStore> => {
      const other = await openStore(database.url)
      others.push(other)
      return other
    },
    dispose: async () => {
      try {
        await Promise.all([store, ...others].map((open) => open.close()))
      } finally {
        await database.dispose()
      }
    },
  }
}

async function createFixture(): Promise<ReturnType<typeof fixtureOf>> {
  const database = await temporaryDatabase()
  try {
    return fixtureOf(database, await openStore(database.url))
  } catch (error) {
    await database.dispose()
    throw error
  }
}

describeDocumentStore('PostgresStore', createFixture)

describeSharedStore('PostgresStore', createFixture)

describeOutbox('PostgresStore', createFixture, { reopen: true, share: true })

describe('PostgresStore on PostgreSQL', () => {
  it('[PG1] appends racing compactions on two instances (two pools) lose nothing', async (t) => {
    const database = await databaseFor(t)
    const [a, b] = [await database.open(), await database.open()]
    const { doc, updates } = editedDocument(400)
    let appending = true
    const compactions = [a, b, a, b].map(async (store) => {
      let runs = 0
      while (appending) {
        await store.compact('pg1')
        runs++
      }
      return runs
    })
    const appends: Array<Promise<number>> = []
    for (const [index, update] of updates.entries()) {
      appends.push((index % 2 === 0 ? a : b).appendAt('pg1', [update]))
      // In waves, so compactions read, merge and swap between them.
      if (index % 8 === 7) await Promise.all(appends.slice(-8))
    }
    const revisions = await Promise.all(appends)
    appending = false
    const runs = await Promise.all(compactions)
    assert.ok(runs.every((count) => count > 0), `compactions per loop: ${runs.join(', ')}`)
    assert.deepEqual([...revisions].sort((x, y) => x - y), updates.map((_, index) => index + 1))
    const { count } = await queryOne<{ count: number }>(
      database.url,
      'SELECT count(*)::int AS count FROM updates WHERE name = $1',
      ['pg1'],
    )
    assert.ok(count < updates.length, `${count} rows for ${updates.length} appends: nothing was compacted`)
    for (const store of [a, b]) {
      const { state, revision } = await store.loadAtRevision('pg1')
      assert.equal(revision, updates.length)
      assertSameContent(state, doc)
      assertSameContent((await store.changesSince('pg1', 0)).update, doc)
    }
    await a.compact('pg1')
    assertSameContent(await b.load('pg1'), doc)
  })

  it('[PG2] stores opening together on a fresh database run the migrations once, without error', async (t) => {
    const database = await databaseFor(t)
    const stores = await Promise.all([database.open(), database.open(), database.open()])
    const migrations = (await readdir(new URL('../migrations', import.meta.url)))
      .filter((file) => file.endsWith('.sql'))
    const { count } = await queryOne<{ count: number }>(
      database.url,
      'SELECT count(*)::int AS count FROM tandem_migrations',
      [],
    )
    assert.equal(count, migrations.length)
    // And once more on a database already up to date.
    const later = await database.open()
    const { updates, doc } = editedDocument(3)
    await stores[0]!.append('pg2', updates)
    assertSameContent(await later.load('pg2'), doc)
  })

  it('[PG3] an unreachable database rejects with StoreUnavailableError, and serves again once back', async (t) => {
    const database = await databaseFor(t)
    const proxy = await tcpProxy(new URL(database.url))
    t.after(() => proxy.close())
    let warned: (message: string) => void = () => undefined
    const warning = new Promise<string>((resolve) => {
      warned = resolve
    })
    const store = await openStore(proxy.url, { logger: { warn: (_, message) => warned(message) } })
    t.after(() => store.close())
    const { doc, updates } = editedDocument(6)
    await store.append('pg3', updates.slice(0, 3))
    await proxy.cut()
    // The pool's idle connection broke: reported, not thrown (an 'error' event nobody hears
    // would end the process).
    assert.equal(await warning, 'postgres: an idle connection failed')
    await assert.rejects(store.append('pg3', updates.slice(3)), StoreUnavailableError)
    await assert.rejects(store.load('pg3'), StoreUnavailableError)
    await assert.rejects(store.checkWritable(), StoreUnavailableError)
    await proxy.restore()
    await store.append('pg3', updates.slice(3))
    assertSameContent(await store.load('pg3'), doc)
    // Nothing listens on a port the proxy no longer holds: opening there is unavailable too.
    const closedPort = await proxy.close()
    const unreachable = new PostgresStore({ connectionString: `postgres://postgres@127.0.0.1:${closedPort}/test` })
    t.after(() => unreachable.close())
    await assert.rejects(unreachable.open(), StoreUnavailableError)
  })

  it('[PG4] bytes that are not a Yjs update reject with a StoreError and write no row', async (t) => {
    const database = await databaseFor(t)
    const store = await database.open()
    const { updates } = editedDocument(4)
    assert.equal(await store.appendAt('pg4', updates.slice(0, 2)), 1)
    for (const bad of [new Uint8Array([255, 255, 255, 255]), updates[2]!.slice(0, -1)]) {
      for (const name of ['pg4', 'pg4-new']) {
        const error = await store.appendAt(name, [updates[2]!, bad])
          .then(() => null, (reason: unknown) => reason)
        assert.ok(error instanceof StoreError && !(error instanceof StoreUnavailableError), String(error))
        assert.match(error.message, new RegExp(name))
      }
    }
    const counts = await queryOne<{ updates: number, documents: number, revision: number }>(
      database.url,
      `SELECT (SELECT count(*)::int FROM updates) AS updates,
              (SELECT count(*)::int FROM documents) AS documents,
              (SELECT revision::int FROM documents WHERE name = 'pg4') AS revision`,
      [],
    )
    assert.deepEqual(counts, { updates: 1, documents: 1, revision: 1 })
    assert.equal(await store.appendAt('pg4', updates.slice(2)), 2)
  })

  it('[PG5] a delete racing compactions on another instance leaves nothing of the document', async (t) => {
    const database = await databaseFor(t)
    const [a, b] = [await database.open(), await database.open()]
    const { updates } = editedDocument(60)
    for (let round = 0; round < 20; round++) {
      const name = `pg5-${round}`
      await Promise.all(updates.map((update, index) => (index % 2 === 0 ? a : b).append(name, [update])))
      // The delete lands before, during or after a compaction's swap, depending on the round.
      const compactions = [a.compact(name), a.compact(name), b.compact(name)]
      for (let turn = 0; turn < round % 5; turn++) await nextTurn()
      await b.delete(name)
      await Promise.all(compactions)
      await b.undelete(name)
      assert.equal(await a.load(name), null, `round ${round}: a compaction brought content back`)
      assert.equal(await a.info(name), null)
    }
    const { count } = await queryOne<{ count: number }>(database.url, 'SELECT count(*)::int AS count FROM updates', [])
    assert.equal(count, 0)
  })
})

/** The first row of a query, read on a connection of its own. */
async function queryOne<Row extends object>(url: string, text: string, values: unknown[]): Promise<Row> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<Row>(text, values)
    return rows[0]!
  } finally {
    await client.end()
  }
}

/**
 * A TCP proxy to the database that can be cut (every connection dropped, nothing listening)
 * and restored on the same port, as a network cut or a database restart looks to a client.
 */
async function tcpProxy(target: URL) {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      // A cut connection errors on both ends; the proxy only passes bytes.
      socket.on('error', () => socket.destroy())
    }
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const cut = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    if (server.listening) server.close(() => resolve())
    else resolve()
  })
  await listen(0)
  const { port } = server.address() as AddressInfo
  const url = new URL(target)
  url.host = `127.0.0.1:${port}`
  return {
    url: url.toString(),
    cut,
    restore: () => listen(port),
    /** Cuts for good; resolves with the port it held. */
    close: async () => {
      await cut()
      return port
    },
  }
}
