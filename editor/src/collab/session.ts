import { HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { nextReconnectDelay } from './reconnect-delay.js'

const TOKEN_KEY = 'tandem:token'

/**
 * Moves a token that arrived in the address into this tab's sessionStorage and takes it out
 * of the address bar, before anything can copy, bookmark, log or leak it. Share links carry it
 * in the fragment (`#token=`), which browsers never send to a server; `?token=` of older
 * links is accepted too. Returns whether the address carried a token.
 */
export function adoptLinkToken(): boolean {
  const url = new URL(location.href)
  const fragment = new URLSearchParams(url.hash.slice(1))
  const token = fragment.get('token') ?? url.searchParams.get('token')
  if (!url.searchParams.has('token') && !fragment.has('token')) return false
  url.searchParams.delete('token')
  fragment.delete('token')
  url.hash = fragment.toString()
  history.replaceState(history.state, '', url)
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  return Boolean(token)
}

/** The token this tab works with (kept in sessionStorage for the tab's life), or null. */
export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

/** Headers for the HTTP API with the tab's token. */
export function authHeaders(): HeadersInit {
  const token = currentToken()
  return token ? { Authorization: `Bearer ${token}` } : {}
}

/** A share link as the server minted it, made absolute. */
export interface ShareLink {
  readonly url: string
  /** What the link lets its holder do; `write` in open mode, whatever was asked. */
  readonly role: 'read' | 'write'
  /** Null in open mode: the link holds no token and never expires. */
  readonly expiresAt: Date | null
  readonly tokenless: boolean
}

/** Something the server refused to share, in words for the person who asked. */
export class ShareError extends Error {}

/**
 * Asks the server for a link to the document with its own token for `role`; the tab's token
 * never leaves in a link. In open mode the server answers the plain link.
 */
export async function requestShareLink(name: string, role: 'read' | 'write'): Promise<ShareLink> {
  const response = await fetch(`/api/documents/${encodeURIComponent(name)}/share`, {
    method: 'POST',
    headers: { ...authHeaders(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ role }),
  })
  const body = (await response.json().catch(() => null)) as
    | { url?: string, role?: 'read' | 'write', expiresAt?: string | null, token?: string | null, error?: { message?: string } }
    | null
  if (!response.ok || typeof body?.url !== 'string') {
    throw new ShareError(
      response.status === 403
        ? `Your access does not allow sharing ${role === 'write' ? 'edit' : 'view'} links to this document.`
        : body?.error?.message ?? `The server could not make a link (${response.status}).`,
    )
  }
  return {
    url: new URL(body.url, location.origin).toString(),
    role: body.role ?? role,
    expiresAt: typeof body.expiresAt === 'string' ? new Date(body.expiresAt) : null,
    tokenless: body.token === null,
  }
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
    const shared = socket
    // The provider waits `delay` after every close; a server that cannot save gets longer.
    shared.on('disconnect', ({ event }: { event?: { code?: number } }) => {
      shared.configuration.delay = nextReconnectDelay(event?.code, shared.configuration.delay)
    })
  }
  return socket
}
