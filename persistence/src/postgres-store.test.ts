import { PostgresStore } from './postgres-store.js'
import { describeDocumentStore } from './store-contract.js'
import { temporaryDatabase } from './test-support/postgres.js'

/** A store opened on `url`. */
async function openStore(url: string): Promise<PostgresStore> {
  const store = new PostgresStore({ connectionString: url })
  await store.open()
  return store
}

describeDocumentStore('PostgresStore', async () => {
  const database = await temporaryDatabase()
  let store: PostgresStore
  try {
    store = await openStore(database.url)
  } catch (error) {
    await database.dispose()
    throw error
  }
  return {
    store,
    reopen: async () => {
      await store.close()
      store = await openStore(database.url)
      return store
    },
    dispose: async () => {
      try {
        await store.close()
      } finally {
        await database.dispose()
      }
    },
  }
})
