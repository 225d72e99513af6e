import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { type AnyExtension, flattenExtensions, getExtensionField } from '@tiptap/core'
import { documentExtensions } from '@tandem/editor/schema/extensions'
import { createMarkdownManager } from './markdown-manager.js'

/** Markdown with ordered lists in every shape the stock tokenizer knows, between other blocks. */
const CORPUS = [
  '1. one\n2. two\n3. three',
  'intro\n\n1. one\n2. two\n\nafter',
  '3) three\n4) four\n\n- bullet\n- bullet',
  '1. one\n   continued lazily\n2. two\n\n   indented paragraph of two\n\n3. three\nlazy line\n\n# heading',
  '1. outer\n   1. inner\n   2. inner two\n      - deep bullet\n2. outer two',
  'a. alpha\nb. beta\n\ni. roman\nii. roman two\n\nA) upper\nB) upper two',
  '1. item\n\n\n\n2. after blank lines\n\ntext',
  '10. ten\n11. eleven\n> quote\n\n```\n1. not a list\n```',
  '1. x\n'.repeat(40) + '\nend',
  Array.from({ length: 30 }, (_, i) => `${i + 1}. item ${i}\n   - sub ${i}\n\n   more ${i}\n`).join(''),
  '1.\n2. empty first\n\n1.nospace\n\n- 1. nested in bullet\n- 2. again',
]

/** How the stock @tiptap/markdown parses `texts`, in a process of its own (managers share marked). */
async function stockParse(texts: string[]): Promise<unknown[]> {
  const script = `
    import { MarkdownManager } from '@tiptap/markdown'
    import { documentExtensions } from '@tandem/editor/schema/extensions'
    const manager = new MarkdownManager({ extensions: documentExtensions })
    const texts = JSON.parse(process.env.TEXTS)
    process.stdout.write(JSON.stringify(texts.map((text) => manager.parse(text))))
  `
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=tandem-source', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      env: { ...process.env, TEXTS: JSON.stringify(texts) },
      maxBuffer: 64 * 1024 * 1024,
    },
  )
  return JSON.parse(stdout) as unknown[]
}

/** The schema's extensions; the stock ordered-list tokenizer counts the characters it is given. */
function countingExtensions(): { extensions: AnyExtension[], counted: { characters: number } } {
  const counted = { characters: 0 }
  const extensions = flattenExtensions(documentExtensions).map((extension) => {
    if (extension.name !== 'orderedList') return extension
    type Tokenizer = { tokenize: (src: string, ...rest: unknown[]) => unknown }
    const tokenizer = getExtensionField<Tokenizer>(extension, 'markdownTokenizer')
    const tokenize = (src: string, ...rest: unknown[]) => {
      counted.characters += src.length
      return tokenizer.tokenize(src, ...rest)
    }
    return extension.extend({ markdownTokenizer: { ...tokenizer, tokenize } })
  })
  return { extensions, counted }
}

// One manager in this process: each registers its tokenizers in the shared marked instance.
const { extensions, counted } = countingExtensions()
const manager = createMarkdownManager(extensions)

describe('the Markdown manager', () => {
  it('[CV15] parses ordered lists exactly as the stock @tiptap/markdown does', async () => {
    const texts = [...CORPUS, CORPUS.join('\n\n'), CORPUS.join('\n\nparagraph\n\n')]
    const stock = await stockParse(texts)
    // Through JSON, as the conversions hand it on: an undefined field is no field.
    texts.forEach((text, i) => {
      assert.deepEqual(JSON.parse(JSON.stringify(manager.parse(text))), stock[i], text)
    })
  })

  it('[CV16] reads Markdown with many ordered lists in time linear in its length', () => {
    const block = (i: number) => `## Section ${i}\n\nSome *text* here.\n\n1. first ${i}\n2. second\n   - nested\n\n- bullet\n\n`
    const text = Array.from({ length: 2000 }, (_, i) => block(i)).join('')
    counted.characters = 0
    manager.parse(text)
    // The stock tokenizer is given everything after each block: about 2000 × 2000 blocks here.
    assert.ok(counted.characters < 8 * text.length, `the ordered-list tokenizer read ${counted.characters} characters of ${text.length}`)
  })
})
