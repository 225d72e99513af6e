// Checks that SPEC.md and the tests agree on rule ids: every id a test cites is a rule
// SPEC.md defines, and every rule SPEC.md defines is cited by some test. Plain Node, no deps.
//
//   node scripts/check-spec.mjs
//
// A rule is defined by a line of SPEC.md that starts with `- **[ID]**`, e.g.
// `- **[DS1]** A document never written loads as null and has no info.` An id is letters
// then digits, with an optional lower-case letter: `[RM3]`, `[API10]`, `[GW2b]`.
//
// A test cites an id by writing `[ID]` anywhere in a test file, normally in the test's name.
// Test files are *.test.ts and *.spec.ts, and any other .ts file that imports `node:test` or
// `@playwright/test` (shared suites such as persistence/src/store-contract.ts), under the
// folders below; dist/ and node_modules/ are skipped.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const TEST_ROOTS = ['persistence/src', 'server/src', 'editor/src', 'e2e', 'bench']
const SKIPPED = new Set(['node_modules', 'dist', 'dist-schema', 'test-results'])
const ID = /\[([A-Z]+[0-9]+[a-z]?)\]/g
const DEFINITION = /^- \*\*\[([A-Z]+[0-9]+[a-z]?)\]\*\*\s+\S/
const SPEC = join(root, 'SPEC.md')

function* files(directory) {
  let entries
  try {
    entries = readdirSync(directory)
  } catch {
    return
  }
  for (const entry of entries) {
    if (SKIPPED.has(entry)) continue
    const path = join(directory, entry)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (entry.endsWith('.ts')) yield path
  }
}

function isTestFile(path, text) {
  if (/\.(test|spec)\.ts$/.test(path)) return true
  return /from ['"](node:test|@playwright\/test)['"]/.test(text)
}

/** id -> places ("file:line") where tests cite it. */
const cited = new Map()
for (const testRoot of TEST_ROOTS) {
  for (const path of files(join(root, testRoot))) {
    const text = readFileSync(path, 'utf8')
    if (!isTestFile(path, text)) continue
    for (const [index, line] of text.split('\n').entries()) {
      for (const match of line.matchAll(ID)) {
        const places = cited.get(match[1]) ?? []
        places.push(`${relative(root, path)}:${index + 1}`)
        cited.set(match[1], places)
      }
    }
  }
}

/** id -> line numbers of SPEC.md that define it. */
const defined = new Map()
const problems = []
let spec
try {
  spec = readFileSync(SPEC, 'utf8')
} catch (error) {
  console.error(`check-spec: cannot read SPEC.md (${error.message})`)
  process.exit(1)
}
for (const [index, line] of spec.split('\n').entries()) {
  const match = DEFINITION.exec(line)
  if (match) {
    defined.set(match[1], [...(defined.get(match[1]) ?? []), index + 1])
  } else if (/^\s*[-*]\s+\*\*\[/.test(line)) {
    problems.push(`SPEC.md:${index + 1}: looks like a rule but is not \`- **[ID]** text\`: ${line.trim()}`)
  }
}

const byId = (a, b) => {
  const [, pa, na] = /^([A-Z]+)(\d+)/.exec(a)
  const [, pb, nb] = /^([A-Z]+)(\d+)/.exec(b)
  return pa === pb ? Number(na) - Number(nb) || a.localeCompare(b) : pa.localeCompare(pb)
}
const undefinedIds = [...cited.keys()].filter((id) => !defined.has(id)).sort(byId)
const uncited = [...defined.keys()].filter((id) => !cited.has(id)).sort(byId)
const duplicated = [...defined].filter(([, lines]) => lines.length > 1).sort(([a], [b]) => byId(a, b))

if (undefinedIds.length > 0) {
  problems.push(
    `Cited by tests but not defined in SPEC.md (add a line \`- **[ID]** rule\` under its area):\n${
      undefinedIds.map((id) => `  [${id}]  ${cited.get(id).join(', ')}`).join('\n')}`,
  )
}
if (uncited.length > 0) {
  problems.push(
    `Defined in SPEC.md but cited by no test (cite it in a test's name, or remove the rule):\n${
      uncited.map((id) => `  [${id}]  SPEC.md:${defined.get(id).join(', ')}`).join('\n')}`,
  )
}
for (const [id, lines] of duplicated) problems.push(`[${id}] is defined more than once: SPEC.md lines ${lines.join(', ')}`)

if (problems.length > 0) {
  console.error(`check-spec: SPEC.md and the tests disagree.\n\n${problems.join('\n\n')}`)
  process.exit(1)
}
console.log(`check-spec: ${defined.size} rules in SPEC.md, each cited by a test; every id the tests cite is defined.`)
