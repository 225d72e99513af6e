/** What the editor reads of a token, without verifying it (the server does that). */
export interface TokenClaims {
  readonly exp?: unknown
  readonly name?: unknown
  readonly sub?: unknown
}

/**
 * A JWT's payload, read without verifying the signature; null when the token is not a JWT
 * (an opaque token the server understands).
 */
export function tokenClaims(token: string): TokenClaims | null {
  const payload = token.split('.')[1]
  if (payload === undefined) return null
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=')
    const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as unknown
    return typeof claims === 'object' && claims !== null ? claims : null
  } catch {
    return null
  }
}

/**
 * The name the server shows for whoever holds `token` in everyone's presence: its `name`,
 * else its `sub`; null when it names nobody (no token, an opaque one, a share link's, whose
 * `sub` starts with `share:`), and then the person's own name shows.
 */
export function presenceName(token: string | null): string | null {
  const claims = token === null ? null : tokenClaims(token)
  if (claims === null) return null
  if (typeof claims.name === 'string') return claims.name
  return typeof claims.sub === 'string' && !claims.sub.startsWith('share:') ? claims.sub : null
}
