// The size budget of the embeddable editor: what a page downloads before <tandem-editor> can
// show a document, i.e. dist/embed.js and every chunk it imports statically, transitively,
// gzipped. Chunks loaded on demand (Markdown) are not counted. Fails the build above budget.
import { readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const BUDGET_BYTES = 170_000
const dist = fileURLToPath(new URL('../dist/', import.meta.url))

/** Static imports of an ES module as Vite emits them: `import … from"./x.js"` and `import"./x.js"`. */
function staticImports(source) {
  const found = []
  for (const match of source.matchAll(/(?:^|[;\s}])import\s*(?:[\w${},*\s]+from\s*)?["']([^"']+)["']/g)) {
    found.push(match[1])
  }
  return found
}

const seen = new Set()
const queue = [join(dist, 'embed.js')]
let total = 0
const rows = []
while (queue.length > 0) {
  const file = queue.shift()
  if (seen.has(file)) continue
  seen.add(file)
  const source = readFileSync(file)
  const gzipped = gzipSync(source).length
  total += gzipped
  rows.push(`  ${relative(dist, file)}: ${(gzipped / 1000).toFixed(2)} kB gzipped`)
  for (const specifier of staticImports(source.toString('utf8'))) {
    if (specifier.startsWith('.')) queue.push(join(dirname(file), specifier))
  }
}

console.log(`embed.js and its static imports:\n${rows.join('\n')}`)
console.log(`embed size: ${(total / 1000).toFixed(2)} kB gzipped (budget ${BUDGET_BYTES / 1000} kB)`)
if (total > BUDGET_BYTES) {
  console.error(`embed.js needs ${(total / 1000).toFixed(2)} kB gzipped to show a document: over the ${BUDGET_BYTES / 1000} kB budget`)
  process.exit(1)
}
