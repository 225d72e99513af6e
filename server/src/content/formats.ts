import { getSchema, type JSONContent } from '@tiptap/core'
import { generateJSON } from '@tiptap/html/server'
import { MarkdownManager } from '@tiptap/markdown'
import type { Node as ProseMirrorNode, Schema } from '@tiptap/pm/model'
import { renderToHTMLString } from '@tiptap/static-renderer/pm/html-string'
import { updateYFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { CONTENT_FIELD, documentExtensions } from '@tandem/editor/schema/extensions'
import * as Y from 'yjs'
import type { Format } from './format-names.js'

/** The editor's schema: what the server reads and writes is what the editor can show. */
export const schema: Schema = getSchema(documentExtensions)
const markdown = new MarkdownManager({ extensions: documentExtensions })

/** Content that does not fit the schema; answered with 422 and the reason. */
export class ContentError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ContentError'
  }
}

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

/** A document state (one update) in an export format; elements the schema lacks are skipped. */
export function exportContent(state: Uint8Array, format: Format): string | Uint8Array {
  if (format === 'yjs') return state
  const node = stateToNode(state)
  switch (format) {
    case 'json':
      return JSON.stringify(node.toJSON())
    case 'html':
      return renderToHTMLString({ content: node, extensions: documentExtensions })
    case 'markdown':
      return markdown.serialize(node.toJSON())
    case 'text':
      return plainText(node)
  }
}

/** Parses imported content into a schema-checked document node, or throws ContentError. */
export function parseContent(kind: 'html' | 'markdown' | 'json', body: string): ProseMirrorNode {
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
  try {
    const node = schema.nodeFromJSON(json)
    node.check()
    return node
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
 * Makes the document's content equal `node` by patching the fragment in place (a diff, not
 * a delete-all and insert), so connected editors keep their carets where text survives.
 */
export function replaceContent(doc: Y.Doc, node: ProseMirrorNode): void {
  updateYFragment(doc, doc.getXmlFragment(CONTENT_FIELD), node, { mapping: new Map(), isOMark: new Map() })
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
