import { SignJWT } from 'jose'

export const TEST_SECRET = 'a-test-secret-that-is-long-enough-for-hs256'

export interface TokenClaims {
  sub?: string
  /** Null for a token without `name`. */
  name?: string | null
  docs?: string[]
  role?: 'read' | 'write' | 'admin'
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number
  secret?: string
  alg?: 'HS256' | 'HS512'
}

/** Signs a token as an issuer would. */
export function mintToken(claims: TokenClaims = {}): Promise<string> {
  const { secret = TEST_SECRET, alg = 'HS256', expiresIn = 3600 } = claims
  const name = claims.name === null ? {} : { name: claims.name ?? 'Ada' }
  return new SignJWT({ ...name, docs: claims.docs ?? ['*'], role: claims.role ?? 'write' })
    .setProtectedHeader({ alg })
    .setSubject(claims.sub ?? 'ada')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(new TextEncoder().encode(secret))
}
