declare const brand: unique symbol

/** A document name that passed {@link parseDocumentName}. */
export type DocumentName = string & { readonly [brand]: 'DocumentName' }

const MAX_CODE_POINTS = 200
const ALLOWED = /^[\p{L}\p{N}_~:.-]+$/u

/**
 * Checks a document name against the rules in DESIGN.md: 1 to 200 code points, Unicode
 * letters and digits and `_ ~ : . -`, not starting with `.`. Returns null when it breaks one.
 */
export function parseDocumentName(name: string): DocumentName | null {
  if (name.length === 0 || name.startsWith('.') || !ALLOWED.test(name)) return null
  let codePoints = 0
  for (const _ of name) {
    if (++codePoints > MAX_CODE_POINTS) return null
  }
  return name as DocumentName
}

/** Decodes one percent-encoded URL path segment and checks it; null when either fails. */
export function parseDocumentNameSegment(segment: string): DocumentName | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(segment)
  } catch {
    return null
  }
  return parseDocumentName(decoded)
}
