import type { DocumentStore, VersionInfo } from '@tandem/persistence/document-store'
import { isVersionId } from '@tandem/persistence/document-store'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Authenticator } from '../auth/authenticator.js'
import { type Access, coversAll, mayAccess } from '../auth/authorize.js'
import type { Principal } from '../auth/principal.js'
import { contentTypes, type Format, formats } from '../content/format-names.js'
import { parseDocumentName } from '../document-name.js'
import type { RoomRegistry } from '../room/room-registry.js'
import type { Room } from '../room/room.js'
import type { ChangeRecorder } from '../webhooks/webhooks.js'
import { ApiError } from './api-error.js'
import { type AuthEnv, bearerAuth } from './bearer-auth.js'
import { type ContentConversions, exportState, readContent, restoreContent, writeContent } from './request-content.js'

export interface DocumentsRoutesOptions {
  readonly store: DocumentStore
  readonly registry: RoomRegistry
  readonly authenticator: Authenticator
  /** Largest request body accepted; larger gets 413. */
  readonly maxBodyBytes: number
  /** Imports and exports run on its workers, never on the event loop. */
  readonly conversions: ContentConversions
  /** Which changes are recorded for webhooks. */
  readonly recorder?: ChangeRecorder
}

const PAGE_SIZE = 100

/** `/api/documents`: what a backend scripts against (DESIGN.md, HTTP document API). */
export function documentsRoutes(options: DocumentsRoutesOptions) {
  const { store, registry, authenticator, maxBodyBytes, conversions } = options
  const api = new Hono<AuthEnv>()
  api.use('*', bearerAuth(authenticator))
  api.use('*', bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `the body is larger than ${maxBodyBytes} bytes`)
    },
  }))

  /** Metadata of a document that exists, or a 404. */
  const describe = async (name: string) => {
    const info = await store.info(name)
    const room = registry.loaded(name)
    if (info === null && !room?.hasContent) throw new ApiError(404, 'not_found', `no document named ${name}`)
    return {
      name,
      size: info?.size ?? 0,
      updatedAt: (info?.updatedAt ?? new Date()).toISOString(),
      clients: room?.peerCount ?? 0,
      editors: room?.editors() ?? [],
    }
  }

  api.get('/', async (c) => {
    const principal = c.get('principal')
    // In open mode anyone may open every document, so the list tells nobody anything new.
    if (authenticator.required && (principal.role !== 'admin' || !coversAll(principal))) {
      throw new ApiError(403, 'forbidden', 'listing documents needs an admin token for "*"')
    }
    const all = await store.list()
    const start = Math.max(0, Number.parseInt(c.req.query('cursor') ?? '0', 10) || 0)
    const limit = Math.min(PAGE_SIZE, Math.max(1, Number.parseInt(c.req.query('limit') ?? `${PAGE_SIZE}`, 10) || PAGE_SIZE))
    const page = all.slice(start, start + limit)
    return c.json({
      documents: page.map((info) => ({
        name: info.name,
        size: info.size,
        updatedAt: info.updatedAt.toISOString(),
        clients: registry.loaded(info.name)?.peerCount ?? 0,
        editors: registry.loaded(info.name)?.editors() ?? [],
      })),
      nextCursor: start + limit < all.length ? String(start + limit) : null,
    })
  })

  api.post('/', async (c) => {
    const principal = c.get('principal')
    const requested = c.req.query('name')
    let name: string
    if (requested === undefined) {
      if (!coversAll(principal) || principal.role === 'read') {
        throw new ApiError(403, 'forbidden', 'creating a document without a name needs a write token for "*"')
      }
      name = `doc-${new Date().toISOString().slice(0, 10)}-${Math.random().toString(36).slice(2, 10)}`
    } else {
      name = authorized(principal, requested, 'write')
    }
    const content = await readContent(c, conversions)
    // A document people have open but nobody has written to does not exist yet.
    if (registry.loaded(name)?.hasContent || (await store.info(name)) !== null) {
      throw new ApiError(409, 'conflict', `a document named ${name} exists`)
    }
    // Created on purpose: a name deleted before may be used again.
    await registry.undelete(name)
    await registry.use(name, async (room) => {
      if (content === null) await room.storeState()
      else await writeContent(c, conversions.pool, room, content, principal.user)
    })
    c.header('Location', `/api/documents/${encodeURIComponent(name)}`)
    return c.json({ name }, 201)
  })

  api.get('/:name', async (c) => {
    const name = authorized(c.get('principal'), c.req.param('name'), 'read')
    return c.json(await describe(name))
  })

  api.delete('/:name', async (c) => {
    const name = authorized(c.get('principal'), c.req.param('name'), 'admin')
    await describe(name)
    await registry.delete(name)
    return c.body(null, 204)
  })

  api.get('/:name/content', async (c) => {
    const name = authorized(c.get('principal'), c.req.param('name'), 'read')
    const format = requestedFormat(c.req.query('format'), c.req.header('accept'))
    await describe(name)
    const state = await registry.use(name, (room) => room.encodeState())
    const body = await exportState(c, conversions.pool, state, format)
    return c.body(body as string, 200, { 'Content-Type': contentTypes[format] })
  })

  api.put('/:name/content', async (c) => {
    const principal = c.get('principal')
    const name = authorized(principal, c.req.param('name'), 'write')
    const content = await readContent(c, conversions)
    if (content === null) throw new ApiError(400, 'empty_body', 'send the content to write')
    // Content from a backend creates the document on purpose, a deleted one included.
    await registry.undelete(name)
    await registry.use(name, (room) => writeContent(c, conversions.pool, room, content, principal.user))
    return c.json(await describe(name))
  })

  api.get('/:name/versions', async (c) => {
    const name = authorized(c.get('principal'), c.req.param('name'), 'read')
    const limit = versionsLimit(c.req.query('limit'))
    const before = versionsCursor(c.req.query('cursor'))
    await describe(name)
    // One more than the page, to know whether another follows without a second read.
    const versions = await store.listVersions(name, { limit: limit + 1, before })
    const page = versions.slice(0, limit)
    return c.json({
      versions: page.map(versionJson),
      nextCursor: versions.length > limit ? page[page.length - 1]!.id : null,
    })
  })

  api.post('/:name/versions', async (c) => {
    const principal = c.get('principal')
    const name = authorized(principal, c.req.param('name'), 'write')
    const label = await readLabel(c.req.raw)
    await describe(name)
    // A version a user labelled is theirs to delete; VERSION_RETENTION never deletes it.
    const kept = label !== null
    const save = (room: Room) => room.saveVersion(label, principal.user, { kept, announce: true })
    const version = await registry.use(name, save)
    return c.json(versionJson(version), 201)
  })

  api.get('/:name/versions/:id/content', async (c) => {
    const name = authorized(c.get('principal'), c.req.param('name'), 'read')
    const format = requestedFormat(c.req.query('format'), c.req.header('accept'))
    const state = await loadVersion(name, c.req.param('id'))
    const body = await exportState(c, conversions.pool, state, format)
    return c.body(body as string, 200, { 'Content-Type': contentTypes[format] })
  })

  api.post('/:name/versions/:id/restore', async (c) => {
    const principal = c.get('principal')
    const name = authorized(principal, c.req.param('name'), 'write')
    const id = c.req.param('id')
    const version = await loadVersion(name, id)
    await registry.use(name, (room) => restoreContent(c, conversions.pool, room, version, principal.user))
    // After the restore, not in its writes (a version saved, then a change): a crash between
    // them loses this event, never announces a restore that did not happen.
    const records = options.recorder?.records('version.restored', name, [principal.user], { version: id })
    if (records !== undefined) await store.outbox.record(records)
    return c.json({ ...(await describe(name)), restored: id })
  })

  async function loadVersion(name: string, id: string): Promise<Uint8Array> {
    const state = await store.loadVersion(name, id)
    if (state === null) throw new ApiError(404, 'not_found', `no version ${id} of ${name}`)
    return state
  }

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

const accepted: Array<[string, Format]> = [
  ['application/json', 'json'],
  ['text/html', 'html'],
  ['text/markdown', 'markdown'],
  ['text/plain', 'text'],
  ['application/octet-stream', 'yjs'],
]

/** `?format=` wins over `Accept`; JSON when neither says. */
function requestedFormat(query: string | undefined, accept: string | undefined): Format {
  if (query !== undefined) {
    if ((formats as readonly string[]).includes(query)) return query as Format
    throw new ApiError(400, 'unknown_format', `format must be one of ${formats.join(', ')}`)
  }
  for (const [type, format] of accepted) if (accept?.includes(type)) return format
  return 'json'
}

function versionJson({ id, createdAt, label, author, size }: VersionInfo) {
  return { id, createdAt: createdAt.toISOString(), label, author, size }
}

/** `?limit=` of the versions list: 1 to PAGE_SIZE, larger asks get PAGE_SIZE; absent, PAGE_SIZE. */
function versionsLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return PAGE_SIZE
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1) {
    throw new ApiError(400, 'invalid_limit', `limit must be a whole number from 1 to ${PAGE_SIZE}`)
  }
  return Math.min(PAGE_SIZE, Number(raw))
}

/**
 * `?cursor=` of the versions list: the `nextCursor` of the page before. It is the id of that
 * page's last version, so a page starts in the right place even when retention deleted it.
 */
function versionsCursor(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined
  if (!isVersionId(raw)) throw new ApiError(400, 'invalid_cursor', 'cursor must be a nextCursor from a previous page')
  return raw
}

async function readLabel(request: Request): Promise<string | null> {
  const text = await request.text()
  if (text.trim() === '') return null
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body must be JSON: { "label"?: string }')
  }
  const label = (body as { label?: unknown } | null)?.label
  if (label === undefined || label === null) return null
  if (typeof label !== 'string' || label.length > 200) {
    throw new ApiError(400, 'invalid_label', 'label must be a string of at most 200 characters')
  }
  return label
}
