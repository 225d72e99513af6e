/** The export formats of the HTTP API. */
export const formats = ['json', 'html', 'markdown', 'text', 'yjs'] as const
export type Format = (typeof formats)[number]

/** The formats a conversion writes; `yjs` is the state itself. */
export type TextFormat = Exclude<Format, 'yjs'>

/** What content may be imported from, besides a Yjs update. */
export type ImportKind = 'html' | 'markdown' | 'json'

export const contentTypes: Record<Format, string> = {
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  yjs: 'application/octet-stream',
}
