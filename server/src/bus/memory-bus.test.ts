import { describeBus } from './bus-contract.js'
import type { MemoryBus } from './memory-bus.js'
import { MemoryHub } from './memory-bus.js'

describeBus<MemoryBus>('MemoryHub', async () => {
  const hub = new MemoryHub()
  const buses: MemoryBus[] = []
  return {
    async create() {
      const bus = hub.bus()
      buses.push(bus)
      return bus
    },
    published: (bus) => bus.published,
    kill: async (bus) => hub.kill(bus),
    cut: async (bus) => hub.partition(bus),
    heal: async (bus) => hub.heal(bus),
    downWithinMs: 50,
    closedWithinMs: 50,
    dispose: async () => {
      await Promise.all(buses.map((bus) => bus.close()))
    },
  }
})
