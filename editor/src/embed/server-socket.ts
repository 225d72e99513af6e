import { HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { nextReconnectDelay, QUICK_RECONNECT_MS } from '../collab/reconnect-delay.js'

interface Held {
  readonly url: string
  readonly socket: HocuspocusProviderWebsocket
  /** The documents open on it: Hocuspocus tells documents on one socket apart by name only. */
  readonly documents: Set<string>
}

const sockets: Held[] = []

/** The Hocuspocus endpoint of a Tandem server given by its HTTP(S) origin. */
export function collabUrl(server: string): string {
  const url = new URL('/collab', server)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.toString()
}

/**
 * A socket to `server` for `document`, shared by the elements of this page that open other
 * documents there (Hocuspocus multiplexes documents, each with its own token); two elements
 * on the same document need two sockets. `releaseSocket` closes it after its last document.
 */
export function holdSocket(server: string, document: string): HocuspocusProviderWebsocket {
  const url = collabUrl(server)
  let held = sockets.find((candidate) => candidate.url === url && !candidate.documents.has(document))
  if (held === undefined) {
    const socket = new HocuspocusProviderWebsocket({
      url, delay: QUICK_RECONNECT_MS, minDelay: QUICK_RECONNECT_MS, maxDelay: 5000, maxAttempts: 0,
    })
    // A server that cannot save gets longer waits between reconnects, as in Tandem's own app.
    socket.on('disconnect', ({ event }: { event?: { code?: number } }) => {
      socket.configuration.delay = nextReconnectDelay(event?.code, socket.configuration.delay)
    })
    held = { url, socket, documents: new Set() }
    sockets.push(held)
  }
  held.documents.add(document)
  return held.socket
}

/** Gives back a socket from `holdSocket`; the release of its last document closes it. */
export function releaseSocket(socket: HocuspocusProviderWebsocket, document: string): void {
  const index = sockets.findIndex((held) => held.socket === socket)
  const held = sockets[index]
  if (held === undefined) return
  held.documents.delete(document)
  if (held.documents.size > 0) return
  sockets.splice(index, 1)
  socket.destroy()
}
