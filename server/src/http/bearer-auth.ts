import type { MiddlewareHandler } from 'hono'
import type { Authenticator } from '../auth/authenticator.js'
import { AuthenticationError, type Principal } from '../auth/principal.js'
import { ApiError } from './api-error.js'

export type AuthEnv = { Variables: { principal: Principal } }

/** Authenticates `Authorization: Bearer <token>` and stores the principal, or answers 401. */
export function bearerAuth(authenticator: Authenticator): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization')
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header)
    if (authenticator.required && header !== undefined && match === null) {
      throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"')
    }
    try {
      c.set('principal', await authenticator.authenticate(match?.[1] ?? null))
    } catch (error) {
      if (error instanceof AuthenticationError) throw new ApiError(401, 'unauthorized', error.message)
      throw error
    }
    c.header('Cache-Control', 'no-store')
    await next()
  }
}
