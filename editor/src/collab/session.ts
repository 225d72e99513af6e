import { HocuspocusProviderWebsocket } from '@hocuspocus/provider'

const TOKEN_KEY = 'tandem:token'

/**
 * The token this tab works with: taken from `?token=` when a link carries one (then removed
 * from the address bar), kept in sessionStorage for the rest of the tab's life.
 */
export function currentToken(): string | null {
  const url = new URL(location.href)
  const fromLink = url.searchParams.get('token')
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink)
    url.searchParams.delete('token')
    history.replaceState(history.state, '', url)
    return fromLink
  }
  return sessionStorage.getItem(TOKEN_KEY)
}

/** Headers for the HTTP API with the tab's token. */
export function authHeaders(): HeadersInit {
  const token = currentToken()
  return token ? { Authorization: `Bearer ${token}` } : {}
}

/** A link to a document that carries this tab's token, so it opens with the same role. */
export function shareLink(name: string): string {
  const url = new URL(`/d/${encodeURIComponent(name)}`, location.origin)
  const token = currentToken()
  if (token) url.searchParams.set('token', token)
  return url.toString()
}

let socket: HocuspocusProviderWebsocket | null = null

/** The one WebSocket every open document of this tab shares. */
export function sharedSocket(): HocuspocusProviderWebsocket {
  if (socket === null) {
    const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new HocuspocusProviderWebsocket({
      url: `${protocol}//${location.host}/collab`,
      // Reconnect quickly after a server restart, and keep trying.
      delay: 250,
      minDelay: 250,
      maxDelay: 5000,
      maxAttempts: 0,
    })
  }
  return socket
}
