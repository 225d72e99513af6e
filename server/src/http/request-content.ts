import type { Context } from 'hono'
import { ProtocolError } from '../protocol/messages.js'
import { checkUpdate } from '../protocol/yjs-payloads.js'
import {
  ContentError,
  ConversionBusyError,
  ConversionTimeoutError,
  ConversionUnavailableError,
} from '../content/conversion-errors.js'
import type { ConversionJob, ConversionResult } from '../content/conversion-jobs.js'
import type { ConversionPool } from '../content/conversion-pool.js'
import type { Format, ImportKind } from '../content/format-names.js'
import type { Room } from '../room/room.js'
import { ApiError } from './api-error.js'

/** How request content is converted: on the pool's workers, text bodies no larger than a cap. */
export interface ContentConversions {
  readonly pool: ConversionPool
  /**
   * Largest text/markdown or text/html body (413 past it). Parsing them is superlinear, so
   * this sits far below the cap of JSON and Yjs bodies.
   */
  readonly maxTextContentBytes: number
}

/** A request body to write into a document, parsed and checked against the schema. */
export type IncomingContent =
  /** Checked ProseMirror JSON, as text: it only passes through this thread. */
  | { readonly kind: 'replace', readonly json: string }
  | { readonly kind: 'merge', readonly update: Uint8Array }

const kinds: Record<string, ImportKind | 'yjs'> = {
  'text/html': 'html',
  'text/markdown': 'markdown',
  'application/json': 'json',
  'application/octet-stream': 'yjs',
}

/**
 * Reads and checks the body (415 for other types, 413 for Markdown or HTML past the cap, 422
 * when it does not fit); null when empty.
 */
export async function readContent(
  c: Context,
  conversions: ContentConversions,
): Promise<IncomingContent | null> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  const kind = kinds[type]
  // Read whole even when its length says it is too large (the body limit bounds it): an answer
  // before the body is read makes the client's next request on the connection fail.
  const bytes = new Uint8Array(await c.req.arrayBuffer())
  if (bytes.byteLength === 0 && type === '') return null
  if (kind === undefined) {
    throw new ApiError(415, 'unsupported_media_type', 'send text/html, text/markdown, application/json (ProseMirror JSON) or application/octet-stream (a Yjs update)')
  }
  const cap = conversions.maxTextContentBytes
  if ((kind === 'html' || kind === 'markdown') && bytes.byteLength > cap) {
    throw new ApiError(413, 'payload_too_large', `a ${kind === 'html' ? 'HTML' : 'Markdown'} body may have at most ${cap} bytes`)
  }
  if (kind === 'yjs') {
    try {
      return { kind: 'merge', update: checkUpdate(bytes) }
    } catch (error) {
      if (error instanceof ProtocolError) throw new ApiError(422, 'invalid_content', error.message)
      throw error
    }
  }
  const body = new TextDecoder().decode(bytes)
  return { kind: 'replace', json: await convert(c, conversions.pool, { type: 'import', kind, body }) }
}

/**
 * Writes content into a live document through its room: a replacement is patched into the
 * content in place (after saving a version of what it replaces), an update is merged.
 */
export async function writeContent(
  c: Context,
  pool: ConversionPool,
  room: Room,
  content: IncomingContent,
  author: string,
): Promise<void> {
  if (content.kind === 'merge') {
    await room.applyUpdate(content.update, author)
    return
  }
  await replaceContent(c, pool, room, content.json, { label: 'before replace', author, keepEmpty: false })
}

/** Makes the live document equal a version's content, as a new change; saves a version first. */
export function restoreContent(
  c: Context,
  pool: ConversionPool,
  room: Room,
  version: Uint8Array,
  author: string,
): Promise<void> {
  return replaceContent(c, pool, room, version, { label: 'before restore', author, keepEmpty: true })
}

/** A document state in `format`: the state itself for `yjs`, else converted on the pool. */
export async function exportState(
  c: Context,
  pool: ConversionPool,
  state: Uint8Array,
  format: Format,
): Promise<string | Uint8Array> {
  if (format === 'yjs') return state
  return convert(c, pool, { type: 'export', format, state })
}

/** The replacement running per room: the next one diffs against the document it leaves. */
const replacing = new WeakMap<Room, Promise<void>>()

/**
 * Replaces the room's content with `content` (ProseMirror JSON text, or a state whose content
 * to take). The diff is computed on a worker from a snapshot of the document; edits peers make
 * meanwhile merge with it like concurrent edits. Replacements of one room run one at a time,
 * or two would each diff against the same snapshot and both insert their content.
 */
function replaceContent(
  c: Context,
  pool: ConversionPool,
  room: Room,
  content: string | Uint8Array,
  before: { readonly label: string, readonly author: string, readonly keepEmpty: boolean },
): Promise<void> {
  const replace = async () => {
    const update = await convert(c, pool, { type: 'replace', state: await room.encodeState(), content })
    if (before.keepEmpty || room.doc.getXmlFragment('default').length > 0) {
      await room.saveVersion(before.label, before.author)
    }
    await room.applyUpdate(update, before.author)
  }
  // The previous replacement's failure was answered to its own request; this one runs anyway.
  const result = (replacing.get(room) ?? Promise.resolve()).catch(() => {}).then(replace)
  replacing.set(room, result)
  return result
}

/** Runs a job on the pool, its failures as the API's errors. */
async function convert<J extends ConversionJob>(
  c: Context,
  pool: ConversionPool,
  job: J,
): Promise<ConversionResult<J>> {
  try {
    return await pool.run(job)
  } catch (error) {
    if (error instanceof ContentError) throw new ApiError(422, 'invalid_content', error.message)
    // The content is what takes too long: the same request would time out again.
    if (error instanceof ConversionTimeoutError) {
      const advice = job.type === 'export' ? 'export it as json or yjs' : 'send smaller or simpler content'
      throw new ApiError(422, 'conversion_timeout', `${error.message}; ${advice}`)
    }
    if (error instanceof ConversionBusyError) {
      c.header('Retry-After', String(Math.max(1, Math.ceil(pool.timeoutMs / 1000))))
      throw new ApiError(503, 'conversion_busy', error.message)
    }
    if (error instanceof ConversionUnavailableError) throw new ApiError(503, 'conversion_unavailable', error.message)
    throw error
  }
}
