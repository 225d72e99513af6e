import type { Context } from 'hono'
import { ProtocolError } from '../protocol/messages.js'
import { checkUpdate } from '../protocol/yjs-payloads.js'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'
import { loadConversions } from '../content/format-names.js'
import type { Room } from '../room.js'
import { ApiError } from './api-error.js'

/** A request body to write into a document, parsed and checked against the schema. */
export type IncomingContent =
  | { readonly kind: 'replace', readonly node: ProseMirrorNode }
  | { readonly kind: 'merge', readonly update: Uint8Array }

const kinds: Record<string, 'html' | 'markdown' | 'json' | 'yjs'> = {
  'text/html': 'html',
  'text/markdown': 'markdown',
  'application/json': 'json',
  'application/octet-stream': 'yjs',
}

/** Reads and checks the body (415 for other types, 422 when it does not fit); null when empty. */
export async function readContent(c: Context): Promise<IncomingContent | null> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  const bytes = new Uint8Array(await c.req.arrayBuffer())
  if (bytes.byteLength === 0 && type === '') return null
  const kind = kinds[type]
  if (kind === undefined) {
    throw new ApiError(415, 'unsupported_media_type', 'send text/html, text/markdown, application/json (ProseMirror JSON) or application/octet-stream (a Yjs update)')
  }
  if (kind === 'yjs') {
    try {
      return { kind: 'merge', update: checkUpdate(bytes) }
    } catch (error) {
      if (error instanceof ProtocolError) throw new ApiError(422, 'invalid_content', error.message)
      throw error
    }
  }
  const { ContentError, parseContent } = await loadConversions()
  try {
    return { kind: 'replace', node: parseContent(kind, new TextDecoder().decode(bytes)) }
  } catch (error) {
    if (error instanceof ContentError) throw new ApiError(422, 'invalid_content', error.message)
    throw error
  }
}

/**
 * Writes content into a live document through its room: a replacement is patched into the
 * content in place (after saving a version of what it replaces), an update is merged.
 */
export async function writeContent(room: Room, content: IncomingContent, author: string): Promise<void> {
  if (content.kind === 'merge') {
    await room.applyUpdate(content.update)
    return
  }
  const { replaceContent } = await loadConversions()
  if (room.doc.getXmlFragment('default').length > 0) await room.saveVersion('before replace', author)
  await room.change((doc) => replaceContent(doc, content.node))
}
