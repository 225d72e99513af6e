import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { Authenticator } from '../auth/authenticator.js'
import { coversAll } from '../auth/authorize.js'
import { AuthenticationError } from '../auth/principal.js'
import { ApiError } from './api-error.js'

/**
 * Guards `/metrics` when tokens are required: `Authorization: Bearer` with METRICS_TOKEN, or
 * an admin token for `*` (document names and client counts are not for every editor). In
 * open mode it lets everyone through, as every other route does.
 */
export function metricsAuth(authenticator: Authenticator, metricsToken: string | null): MiddlewareHandler {
  const expected = metricsToken === null ? null : digest(metricsToken)
  return async (c, next) => {
    if (!authenticator.required) return next()
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')
    if (match === null) throw new ApiError(401, 'unauthorized', 'metrics need "Authorization: Bearer <token>"')
    const token = match[1]!
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (expected !== null && timingSafeEqual(digest(token), expected)) return next()
    const principal = await authenticator.authenticate(token).catch((error: unknown) => {
      if (!(error instanceof AuthenticationError)) throw error
      throw new ApiError(401, 'unauthorized', 'metrics need METRICS_TOKEN or an admin token for "*"')
    })
    if (principal.role !== 'admin' || !coversAll(principal)) throw new ApiError(403, 'forbidden', 'metrics need METRICS_TOKEN or an admin token for "*"')
    return next()
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
