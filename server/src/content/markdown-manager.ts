import { type AnyExtension, flattenExtensions, getExtensionField } from '@tiptap/core'
import { MarkdownManager } from '@tiptap/markdown'

/** The part of a Tiptap `markdownTokenizer` this module relies on. */
interface BlockTokenizer {
  readonly tokenize: (src: string, tokens: unknown[], lexer: unknown) => { raw?: string } | undefined
}

/** An ordered-list item line, as @tiptap/extension-list matches it (ORDERED_LIST_ITEM_REGEX). */
const ORDERED_ITEM = /^\s*(?:\d+|[a-zA-Z]+|[ivxlcdmIVXLCDM]+)[.)]\s/

/** Lines of source the ordered-list tokenizer first sees; doubled while the list fills them. */
const FIRST_LINES = 16

/**
 * A Markdown manager for `extensions` whose ordered-list tokenizer takes time linear in the
 * list, not in the rest of the document. The stock one splits everything after the current
 * block into lines at every block, which makes ordinary Markdown quadratic (1 MiB took 23 s).
 * Parsing gives the same tokens: see `linearOrderedList`.
 */
export function createMarkdownManager(extensions: AnyExtension[]): MarkdownManager {
  const patched = flattenExtensions(extensions).map((extension) => {
    // Its children are in the flat list already; the manager flattens again, and would add
    // them twice, the stock ordered list among them.
    if (getExtensionField(extension, 'addExtensions') !== undefined) return extension.extend({ addExtensions: () => [] })
    const tokenizer = getExtensionField<BlockTokenizer | undefined>(extension, 'markdownTokenizer')
    if (extension.name !== 'orderedList' || tokenizer === undefined) return extension
    const markdownTokenizer = { ...tokenizer, tokenize: linearOrderedList(tokenizer.tokenize) }
    return extension.extend({ markdownTokenizer })
  })
  return new MarkdownManager({ extensions: patched })
}

/**
 * Runs the stock tokenizer on the first lines of the source only, more while the list may go
 * on. The stock one reads line by line and stops at the first line that ends the list, so when
 * it stops before the last line it was given, the lines after could not have changed anything.
 */
function linearOrderedList(tokenize: BlockTokenizer['tokenize']): BlockTokenizer['tokenize'] {
  return (src, tokens, lexer) => {
    const firstLineEnd = src.indexOf('\n')
    // Not a list item: the stock tokenizer returns nothing either, after splitting it all.
    if (!ORDERED_ITEM.test(firstLineEnd === -1 ? src : src.slice(0, firstLineEnd))) return undefined
    for (let lines = FIRST_LINES; ; lines *= 2) {
      const end = nthNewline(src, lines)
      if (end === -1) return tokenize(src, tokens, lexer)
      const result = tokenize(src.slice(0, end), tokens, lexer)
      if (result?.raw !== undefined && lineCount(result.raw) < lines) return result
    }
  }
}

/** The index of the `n`th newline of `text`, or -1 when it has fewer. */
function nthNewline(text: string, n: number): number {
  let index = -1
  for (let i = 0; i < n; i++) {
    index = text.indexOf('\n', index + 1)
    if (index === -1) return -1
  }
  return index
}

function lineCount(text: string): number {
  let count = 1
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) count++
  return count
}
