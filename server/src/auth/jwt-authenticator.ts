import { errors, jwtVerify } from 'jose'
import { z } from 'zod'
import type { Authenticator } from './authenticator.js'
import { AuthenticationError, type Principal, roles } from './principal.js'
import { isShareSubject } from './share-tokens.js'

const claims = z.object({
  sub: z.string().min(1),
  name: z.string().optional(),
  docs: z.array(z.string().min(1)).min(1),
  role: z.enum(roles).default('write'),
  exp: z.number().optional(),
})

/** HS256 JWTs signed with AUTH_SECRET, as DESIGN.md describes under Tokens. */
export class JwtAuthenticator implements Authenticator {
  readonly required = true
  readonly #key: Uint8Array

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret)
  }

  async authenticate(token: string | null): Promise<Principal> {
    if (token === null || token === '') throw new AuthenticationError('a token is required')
    let payload: unknown
    try {
      ;({ payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'] }))
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new AuthenticationError('the token has expired')
      throw new AuthenticationError('the token is not valid')
    }
    const parsed = claims.safeParse(payload)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new AuthenticationError(`the token's ${issue.path.join('.')} claim is not valid`)
    }
    const { sub, name, docs, role, exp } = parsed.data
    return {
      user: sub,
      name: name ?? sub,
      presenceName: name ?? (isShareSubject(sub) ? null : sub),
      documents: docs,
      role,
      expiresAt: exp === undefined ? null : new Date(exp * 1000),
    }
  }
}
