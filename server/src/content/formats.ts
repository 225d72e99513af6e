import { getSchema, type JSONContent } from '@tiptap/core'
import { generateJSON } from '@tiptap/html/server'
import type { Node as ProseMirrorNode, Schema } from '@tiptap/pm/model'
import { renderToHTMLString } from '@tiptap/static-renderer/pm/html-string'
import { updateYFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { CONTENT_FIELD, documentExtensions } from '@tandem/editor/schema/extensions'
import * as Y from 'yjs'
import { attributeChecks, findIllTypedAttribute } from './attribute-types.js'
import { ContentError } from './conversion-errors.js'
import type { ImportKind, TextFormat } from './format-names.js'
import { createMarkdownManager } from './markdown-manager.js'
import { stripUnsafeLinks } from './safe-links.js'

// These conversions are CPU-bound and some are superlinear in their input: they run in the
// workers of conversion-pool.ts, never on the server's event loop.

/** The editor's schema: what the server reads and writes is what the editor can show. */
export const schema: Schema = getSchema(documentExtensions)
const markdown = createMarkdownManager(documentExtensions)
const checks = attributeChecks(schema)

/** How deep content may nest; deeper is refused before any conversion recurses into it. */
export const MAX_CONTENT_DEPTH = 100

/**
 * The content (the `default` fragment) of a document state as a ProseMirror node. Reads a
 * copy made from the state: converting drops elements the schema does not know, and that
 * must never happen to a live document.
 */
export function stateToNode(state: Uint8Array): ProseMirrorNode {
  const copy = new Y.Doc()
  try {
    Y.applyUpdate(copy, state)
    return yXmlFragmentToProseMirrorRootNode(copy.getXmlFragment(CONTENT_FIELD), schema)
  } finally {
    copy.destroy()
  }
}

/**
 * A document state (one update) in a text format; elements the schema lacks are skipped,
 * links other than http(s), mailto and relative ones lose their link (not their text).
 */
export function exportContent(state: Uint8Array, format: TextFormat): string {
  const node = stateToNode(state)
  if (format === 'text') return plainText(node)
  const json = node.toJSON() as JSONContent
  stripUnsafeLinks(json)
  switch (format) {
    case 'json':
      return JSON.stringify(json)
    case 'html':
      return renderToHTMLString({ content: schema.nodeFromJSON(json), extensions: documentExtensions })
    case 'markdown':
      return markdown.serialize(json)
  }
}

/**
 * Parses imported content into schema-checked ProseMirror JSON without unsafe links, or
 * throws ContentError.
 */
export function parseContent(kind: ImportKind, body: string): JSONContent {
  let json: JSONContent
  try {
    if (kind === 'json') json = JSON.parse(body) as JSONContent
    else if (kind === 'html') json = generateJSON(body, documentExtensions) as JSONContent
    else json = markdown.parse(body)
  } catch (error) {
    throw new ContentError(`the ${kind} could not be parsed: ${(error as Error).message}`)
  }
  if (json === null || typeof json !== 'object' || json.type !== 'doc') {
    throw new ContentError('the content must be a ProseMirror document ({ "type": "doc", … })')
  }
  if (depthOf(json) > MAX_CONTENT_DEPTH) {
    throw new ContentError(`the content nests deeper than ${MAX_CONTENT_DEPTH} levels`)
  }
  const illTyped = findIllTypedAttribute(json, checks)
  if (illTyped !== null) throw new ContentError(`the content does not fit the document schema: ${illTyped}`)
  stripUnsafeLinks(json)
  try {
    const node = schema.nodeFromJSON(json)
    node.check()
    return node.toJSON() as JSONContent
  } catch (error) {
    throw new ContentError(`the content does not fit the document schema: ${(error as Error).message}`)
  }
}

/** The deepest nesting of `content` arrays, counted without recursion. */
function depthOf(root: JSONContent): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    deepest = Math.max(deepest, depth)
    if (deepest > MAX_CONTENT_DEPTH) return deepest
    const content = (node as JSONContent | null)?.content
    if (Array.isArray(content)) for (const child of content) stack.push([child, depth + 1])
  }
  return deepest
}

/**
 * The Yjs update that makes a document in `state` hold `content` (checked ProseMirror JSON,
 * or the content of another state, such as a version's). It patches the fragment in place (a
 * diff, not a delete-all and insert), so connected editors keep their carets where text
 * survives. Written under a fresh client id: the live document may change while this runs,
 * and the update then merges like any peer's concurrent edit.
 */
export function replacementUpdate(state: Uint8Array, content: JSONContent | Uint8Array): Uint8Array {
  const node = content instanceof Uint8Array ? stateToNode(content) : schema.nodeFromJSON(content)
  const draft = new Y.Doc()
  try {
    Y.applyUpdate(draft, state)
    const before = Y.encodeStateVector(draft)
    const fragment = draft.getXmlFragment(CONTENT_FIELD)
    draft.transact(() => updateYFragment(draft, fragment, node, { mapping: new Map(), isOMark: new Map() }))
    return Y.encodeStateAsUpdate(draft, before)
  } finally {
    draft.destroy()
  }
}

/** Plain text: each text block (paragraph, heading, code…) on its own, blank lines between. */
function plainText(root: ProseMirrorNode): string {
  const blocks: string[] = []
  root.descendants((node) => {
    if (!node.isTextblock) return true
    blocks.push(node.textBetween(0, node.content.size, undefined, (leaf) => (leaf.type.name === 'hardBreak' ? '\n' : '')))
    return false
  })
  return blocks.join('\n\n')
}
