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

/** The document's content (the `default` fragment) as a ProseMirror node. */
export function toNode(doc: Y.Doc): ProseMirrorNode {
  return yXmlFragmentToProseMirrorRootNode(doc.getXmlFragment(CONTENT_FIELD), schema)
}

/** A document state (one update) in an export format. */
export function exportContent(doc: Y.Doc, format: Format): string | Uint8Array {
  if (format === 'yjs') return Y.encodeStateAsUpdate(doc)
  const node = toNode(doc)
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
  try {
    const node = schema.nodeFromJSON(json)
    node.check()
    return node
  } catch (error) {
    throw new ContentError(`the content does not fit the document schema: ${(error as Error).message}`)
  }
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
