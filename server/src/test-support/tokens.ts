import { SignJWT } from 'jose'

export const TEST_SECRET = 'a-test-secret-that-is-long-enough-for-hs256'

export interface TokenClaims {
  sub?: string
  name?: string
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
  return new SignJWT({ name: claims.name ?? 'Ada', docs: claims.docs ?? ['*'], role: claims.role ?? 'write' })
    .setProtectedHeader({ alg })
    .setSubject(claims.sub ?? 'ada')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(new TextEncoder().encode(secret))
}
