import { MemoryStore, SharedMemoryStore } from './memory-store.js'
import { describeOutbox } from './outbox-contract.js'
import { describeSharedStore } from './shared-store-contract.js'
import { describeDocumentStore } from './store-contract.js'

describeDocumentStore('MemoryStore', async () => {
  const store = new MemoryStore()
  return { store, reopen: null, dispose: () => store.close() }
}, { persistent: false })

describeDocumentStore('SharedMemoryStore', async () => {
  const store = new SharedMemoryStore()
  return { store, reopen: null, dispose: () => store.close() }
}, { persistent: false })

describeSharedStore('SharedMemoryStore', async () => {
  const store = new SharedMemoryStore()
  const others: SharedMemoryStore[] = []
  return {
    store,
    second: async () => {
      const other = store.another()
      others.push(other)
      return other
    },
    dispose: async () => {
      await Promise.all([store, ...others].map((open) => open.close()))
    },
  }
})

describeOutbox('MemoryStore', async () => {
  const store = new MemoryStore()
  return { store, reopen: null, second: null, dispose: () => store.close() }
}, { reopen: false, share: false })

describeOutbox('SharedMemoryStore', async () => {
  const store = new SharedMemoryStore()
  const other = store.another()
  return {
    store,
    reopen: null,
    second: async () => other,
    dispose: async () => {
      await Promise.all([store.close(), other.close()])
    },
  }
}, { reopen: false, share: true })
