import { MemoryStore } from './memory-store.js'
import { describeDocumentStore } from './store-contract.js'

describeDocumentStore('MemoryStore', async () => {
  const store = new MemoryStore()
  return { store, reopen: null, dispose: () => store.close() }
}, { persistent: false })
