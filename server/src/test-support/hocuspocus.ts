import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import * as encoding from 'lib0/encoding'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { withTimeout } from './clients.js'

// Quick reconnects, so tests that restart a server do not wait for the default back-off.
const reconnect = { delay: 20, minDelay: 20, maxDelay: 200, WebSocketPolyfill: WebSocket }

/** A shared provider socket, for several documents over one connection. */
export function connectSocket(wsUrl: string): HocuspocusProviderWebsocket {
  return new HocuspocusProviderWebsocket({ url: wsUrl, ...reconnect })
}

/** The stock Hocuspocus provider, with Node's `ws`, on its own socket or a shared one. */
export function connectHocuspocus(
  wsUrl: string,
  name: string,
  options: { token?: string, doc?: Y.Doc, socket?: HocuspocusProviderWebsocket } = {},
): HocuspocusProvider {
  const document = options.doc ?? new Y.Doc()
  const common = { name, document, token: options.token ?? '' }
  if (options.socket) {
    const provider = new HocuspocusProvider({ ...common, websocketProvider: options.socket })
    // Providers on a shared socket attach themselves only when asked.
    provider.attach()
    return provider
  }
  return new HocuspocusProvider({ ...common, url: wsUrl, ...reconnect })
}

/** Resolves when the provider has synced with the server. */
export function hocuspocusSynced(provider: HocuspocusProvider, timeoutMs = 5000): Promise<void> {
  if (provider.synced) return Promise.resolve()
  return withTimeout(
    new Promise((resolve) => provider.on('synced', () => resolve())),
    timeoutMs,
    'provider did not sync',
  )
}

/** Destroys providers and their awareness timers. */
export function disconnectHocuspocus(...providers: HocuspocusProvider[]): void {
  for (const provider of providers) {
    provider.destroy()
    provider.awareness?.destroy()
  }
}

/** A Hocuspocus frame as the provider writes it: document key, type, then the parts. */
export function hocuspocusFrame(
  key: string,
  type: number,
  ...parts: Array<number | string | Uint8Array>
): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, key)
  encoding.writeVarUint(encoder, type)
  for (const part of parts) {
    if (typeof part === 'number') encoding.writeVarUint(encoder, part)
    else if (typeof part === 'string') encoding.writeVarString(encoder, part)
    else encoding.writeVarUint8Array(encoder, part)
  }
  return encoding.toUint8Array(encoder)
}
