import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import type { Authenticator } from '../auth/authenticator.js'
import {
  DEFAULT_SHARE_SECONDS,
  MAX_SHARE_SECONDS,
  shareRoles,
  type ShareTokens,
} from '../auth/share-tokens.js'
import { ApiError } from './api-error.js'
import { type AuthEnv, bearerAuth } from './bearer-auth.js'
import { authorized } from './documents-routes.js'

export interface ShareRoutesOptions {
  readonly authenticator: Authenticator
  /** Signs share tokens; null when the server has no AUTH_SECRET (open mode). */
  readonly shareTokens: ShareTokens | null
}

const shareBody = z.object({
  role: z.enum(shareRoles, { error: 'role must be read or write' }).default('read'),
  expiresIn: z
    .number({ error: 'expiresIn must be a number of seconds' })
    .int('expiresIn must be a whole number of seconds')
    .min(60, 'expiresIn must be at least 60 seconds')
    .max(MAX_SHARE_SECONDS, `expiresIn must be at most ${MAX_SHARE_SECONDS} seconds (90 days)`)
    .default(DEFAULT_SHARE_SECONDS),
})

/**
 * `POST /api/documents/:name/share`: a link that opens one document with a chosen role. The
 * token rides in the URL fragment, which browsers never send to a server or in a Referer.
 */
export function shareRoutes({ authenticator, shareTokens }: ShareRoutesOptions): Hono<AuthEnv> {
  const routes = new Hono<AuthEnv>()
  routes.use('/:name/share', bearerAuth(authenticator))
  routes.use('/:name/share', bodyLimit({
    maxSize: 4096,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', 'the body is larger than 4096 bytes')
    },
  }))

  routes.post('/:name/share', async (c) => {
    const principal = c.get('principal')
    const { role, expiresIn } = await readShareBody(c.req.raw)
    const name = authorized(principal, c.req.param('name'), role)
    const path = `/d/${encodeURIComponent(name)}`
    // Open mode: everyone may already write every document, so there is nothing to mint.
    if (!authenticator.required) {
      return c.json({ token: null, url: path, role: 'write', expiresAt: null })
    }
    if (shareTokens === null) {
      throw new ApiError(501, 'not_implemented', 'this server cannot mint share tokens')
    }
    const { token, expiresAt } = await shareTokens.mint({
      document: name,
      role,
      sharer: principal,
      expiresInSeconds: expiresIn,
    })
    return c.json({ token, url: `${path}#token=${token}`, role, expiresAt: expiresAt.toISOString() }, 201)
  })

  return routes
}

async function readShareBody(request: Request): Promise<z.infer<typeof shareBody>> {
  const text = await request.text()
  let body: unknown = {}
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      throw new ApiError(400, 'invalid_json', 'the body must be JSON: { "role": "read" | "write", "expiresIn"?: seconds }')
    }
  }
  const parsed = shareBody.safeParse(body)
  if (!parsed.success) throw new ApiError(400, 'invalid_share', parsed.error.issues[0]!.message)
  return parsed.data
}
