import type { Metrics } from '../metrics.js'
import type { Bus, BusEvents, BusListener, BusMessage } from './bus.js'

/** `bus`, counting what is published and received by type on `/metrics`. */
export function meteredBus(bus: Bus, metrics: Metrics): Bus {
  return {
    get instance() {
      return bus.instance
    },
    open: () => bus.open(),
    publish: (document: string, message: BusMessage) => {
      metrics.busPublished.inc({ type: message.type })
      bus.publish(document, message)
    },
    subscribe: (document: string, listener: BusListener, onActive?: () => void) =>
      bus.subscribe(document, (message, from) => {
        metrics.busReceived.inc({ type: message.type })
        listener(message, from)
      }, onActive),
    on: <E extends keyof BusEvents>(event: E, listener: BusEvents[E]) => bus.on(event, listener),
    status: () => bus.status(),
    close: () => bus.close(),
  }
}
