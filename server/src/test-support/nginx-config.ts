/** One directive of an nginx configuration: `name args…;` or `name args… { children }`. */
export interface Directive {
  readonly name: string
  readonly args: readonly string[]
  /** The directives of its block, when it has one. */
  readonly children?: readonly Directive[]
}

/**
 * Parses an nginx configuration into its directives, so tests check values rather than
 * match text: comments, quotes and line breaks fall where nginx lets them.
 */
export function parseNginxConf(text: string): Directive[] {
  const tokens = tokenize(text)
  let index = 0
  const block = (nested: boolean): Directive[] => {
    const directives: Directive[] = []
    let words: string[] = []
    while (index < tokens.length) {
      const token = tokens[index++]!
      if (token.kind === 'word') {
        words.push(token.text)
      } else if (token.text === ';') {
        if (words.length === 0) throw new Error('empty directive')
        directives.push({ name: words[0]!, args: words.slice(1) })
        words = []
      } else if (token.text === '{') {
        if (words.length === 0) throw new Error('block without a name')
        directives.push({ name: words[0]!, args: words.slice(1), children: block(true) })
        words = []
      } else {
        if (!nested || words.length > 0) throw new Error('unexpected "}"')
        return directives
      }
    }
    if (nested || words.length > 0) throw new Error('unexpected end of the configuration')
    return directives
  }
  return block(false)
}

type Token = { kind: 'word' | 'punctuation', text: string }

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let index = 0
  while (index < text.length) {
    const char = text[index]!
    if (/\s/.test(char)) {
      index++
    } else if (char === '#') {
      while (index < text.length && text[index] !== '\n') index++
    } else if (char === ';' || char === '{' || char === '}') {
      tokens.push({ kind: 'punctuation', text: char })
      index++
    } else if (char === '"' || char === '\'') {
      let word = ''
      index++
      while (index < text.length && text[index] !== char) {
        if (text[index] === '\\' && index + 1 < text.length) word += text[index++]
        word += text[index++]
      }
      if (index >= text.length) throw new Error('unterminated quote')
      index++
      tokens.push({ kind: 'word', text: word })
    } else {
      let word = ''
      let variable = false
      // `${name}` is one word; any other brace ends it.
      while (index < text.length && !/[\s;]/.test(text[index]!)) {
        const next = text[index]!
        if (next === '{' && !word.endsWith('$')) break
        if (next === '}' && !variable) break
        if (next === '{') variable = true
        if (next === '}') variable = false
        word += next
        index++
      }
      tokens.push({ kind: 'word', text: word })
    }
  }
  return tokens
}

/** The directives named `path[0]`, then their children named `path[1]`, and so on. */
export function findDirectives(directives: readonly Directive[], ...path: string[]): Directive[] {
  let found: readonly Directive[] = directives
  const [last, ...rest] = [...path].reverse()
  for (const name of rest.reverse()) {
    found = found
      .filter((directive) => directive.name === name)
      .flatMap((directive) => directive.children ?? [])
  }
  return found.filter((directive) => directive.name === last)
}

/** The one directive at `path`; throws when there is none or more than one. */
export function findDirective(directives: readonly Directive[], ...path: string[]): Directive {
  const found = findDirectives(directives, ...path)
  if (found.length !== 1) throw new Error(`expected one ${path.join(' > ')}, found ${found.length}`)
  return found[0]!
}
