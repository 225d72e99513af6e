import type { DocumentStore } from '@tandem/persistence/document-store'
import { Hono } from 'hono'
import type { Authenticator } from '../auth/authenticator.js'
import { type Access, coversAll, mayAccess } from '../auth/authorize.js'
import type { Principal } from '../auth/principal.js'
import { parseDocumentName } from '../document-name.js'
import type { RoomRegistry } from '../room-registry.js'
import { ApiError } from './api-error.js'
import { type AuthEnv, bearerAuth } from './bearer-auth.js'

export interface DocumentsRoutesOptions {
  readonly store: DocumentStore
  readonly registry: RoomRegistry
  readonly authenticator: Authenticator
}

const PAGE_SIZE = 100

/** `/api/documents`: what a backend scripts against. */
export function documentsRoutes({ store, registry, authenticator }: DocumentsRoutesOptions) {
  const api = new Hono<AuthEnv>()
  api.use('*', bearerAuth(authenticator))

  api.get('/', async (c) => {
    const principal = c.get('principal')
    // In open mode anyone may open every document, so the list tells nobody anything new.
    if (authenticator.required && (principal.role !== 'admin' || !coversAll(principal))) {
      throw new ApiError(403, 'forbidden', 'listing documents needs an admin token for "*"')
    }
    const all = await store.list()
    const start = Math.max(0, Number.parseInt(c.req.query('cursor') ?? '0', 10) || 0)
    const page = all.slice(start, start + PAGE_SIZE)
    return c.json({
      documents: page.map((info) => ({
        name: info.name,
        size: info.size,
        updatedAt: info.updatedAt.toISOString(),
        clients: registry.loaded(info.name)?.peerCount ?? 0,
        editors: registry.loaded(info.name)?.editors() ?? [],
      })),
      nextCursor: start + PAGE_SIZE < all.length ? String(start + PAGE_SIZE) : null,
    })
  })

  api.get('/:name', async (c) => {
    const name = authorized(c.get('principal'), c.req.param('name'), 'read')
    const info = await store.info(name)
    if (info === null) throw new ApiError(404, 'not_found', `no document named ${name}`)
    return c.json({
      name,
      size: info.size,
      updatedAt: info.updatedAt.toISOString(),
      clients: registry.loaded(name)?.peerCount ?? 0,
    })
  })

  return api
}

/** The checked document name, or a 400 / 403 ApiError. */
export function authorized(principal: Principal, raw: string, access: Access): string {
  const name = parseDocumentName(raw)
  if (name === null) throw new ApiError(400, 'invalid_name', 'invalid document name')
  if (!mayAccess(principal, name, access)) {
    throw new ApiError(403, 'forbidden', `the token may not ${access} ${name}`)
  }
  return name
}
