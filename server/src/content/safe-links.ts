import type { JSONContent } from '@tiptap/core'

/** Schemes a link may use; anything else (javascript:, data:, vbscript:, …) is dropped. */
const ALLOWED_SCHEMES = new Set(['http', 'https', 'mailto'])

/**
 * Whether a link target is one a reader can follow safely: http(s), mailto, or relative
 * (paths, `?query`, `#fragment`, `//host`). Reads the href the way browsers and Markdown
 * renderers will: control characters and whitespace are ignored (`java\tscript:`), and a
 * first segment holding `&` or `\` is refused, since Markdown decodes entities and escapes in
 * link targets (`javascript&colon;…`, `javascript\:…`) before a browser sees them.
 */
export function isSafeHref(href: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const cleaned = href.replace(/[\u0000-\u0020\u007f-\u009f]/g, '')
  const firstSegment = /^[^/?#]*/.exec(cleaned)![0]
  const colon = firstSegment.indexOf(':')
  if (colon === -1) return !/[&\\]/.test(firstSegment)
  return ALLOWED_SCHEMES.has(firstSegment.slice(0, colon).toLowerCase())
}

/**
 * Removes, in place, the link marks whose href is not safe; their text stays. Walks without
 * recursion, so no nesting depth can overflow the stack.
 */
export function stripUnsafeLinks(root: JSONContent): void {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const node = stack.pop() as JSONContent | null
    if (node === null || typeof node !== 'object') continue
    if (Array.isArray(node.marks)) {
      node.marks = node.marks.filter((mark) => mark?.type !== 'link' || isSafeLinkMark(mark.attrs))
    }
    if (Array.isArray(node.content)) for (const child of node.content) stack.push(child)
  }
}

function isSafeLinkMark(attrs: Record<string, unknown> | undefined): boolean {
  const href = attrs?.href
  return typeof href === 'string' && isSafeHref(href)
}
