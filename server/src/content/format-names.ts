import type * as Formats from './formats.js'

/** The export formats of the HTTP API. */
export const formats = ['json', 'html', 'markdown', 'text', 'yjs'] as const
export type Format = (typeof formats)[number]

export const contentTypes: Record<Format, string> = {
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  yjs: 'application/octet-stream',
}

type Conversions = typeof Formats
let conversions: Promise<Conversions> | null = null

/**
 * The conversions, loaded on first use: Tiptap, its renderers and a DOM for HTML parsing
 * weigh tens of megabytes that a server nobody calls the API on should not carry.
 */
export function loadConversions(): Promise<Conversions> {
  conversions ??= import('./formats.js')
  return conversions
}
