import { LevelDbStore } from '@tandem/persistence/leveldb-store'
import { describeDocumentStore } from '@tandem/persistence/store-contract'
import { ControlledStore } from './controlled-store.js'
import { temporaryDirectory } from './server.js'

// With nothing held or failing, the fake must be the store it wraps: server tests that use
// it prove things about real stores only if it passes the same contract.
describeDocumentStore('ControlledStore around its default MemoryStore', async () => {
  const store = new ControlledStore()
  return { store, reopen: null, dispose: () => store.close() }
}, { persistent: false })

describeDocumentStore('ControlledStore around a LevelDbStore', async () => {
  const directory = await temporaryDirectory()
  let store = new ControlledStore(new LevelDbStore(directory.path))
  return {
    store,
    reopen: async () => {
      await store.close()
      store = new ControlledStore(new LevelDbStore(directory.path))
      return store
    },
    dispose: async () => {
      try {
        await store.close()
      } finally {
        await directory.dispose()
      }
    },
  }
})
