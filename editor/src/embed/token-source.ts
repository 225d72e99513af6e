import { tokenClaims } from '../collab/token-claims.js'

/** Why the element asks for a token: the first connect, a refusal, or one about to expire. */
export type TokenReason = 'connect' | 'auth-failed' | 'expiring'

/** The embedding page's token source: given the document and why, a token for it. */
export type TokenProvider = (request: { document: string, reason: TokenReason }) => Promise<string>

/** How long before a token's `exp` the element fetches the next one. */
export const RENEW_BEFORE_EXPIRY_MS = 30_000

/**
 * The `exp` of a JWT in milliseconds, read without verifying the signature (the server does
 * that); null when the token is not a JWT or has no numeric `exp`.
 */
export function tokenExpiry(token: string): number | null {
  const exp = tokenClaims(token)?.exp
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null
}

/** Milliseconds from `now` until a token expiring at `expiresAt` should be renewed (never negative). */
export function renewalDelay(expiresAt: number, now: number): number {
  return Math.max(0, expiresAt - now - RENEW_BEFORE_EXPIRY_MS)
}

/**
 * A token from the embedding page's backend: POSTs `{ document }` as JSON to `url` without
 * cookies (the backend authenticates its user its own way, e.g. a header it set) and reads
 * `{ token }` from the answer.
 */
export async function fetchToken(url: string, document: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'omit',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ document }),
  })
  if (!response.ok) throw new Error(`token-url answered ${response.status}`)
  const body = (await response.json()) as { token?: unknown }
  if (typeof body.token !== 'string' || body.token === '') throw new Error('token-url answered no { token }')
  return body.token
}
