import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { getSchema } from '@tiptap/core'
import { documentExtensions } from './extensions.js'

describe('the shared document schema', () => {
  it('[SC1] loads in Node without a DOM and has every node and mark of the toolbar', () => {
    assert.equal(typeof (globalThis as { document?: unknown }).document, 'undefined')
    const schema = getSchema(documentExtensions)
    for (const node of ['doc', 'paragraph', 'heading', 'bulletList', 'orderedList', 'listItem', 'blockquote', 'codeBlock', 'horizontalRule', 'hardBreak', 'text']) {
      assert.ok(schema.nodes[node], `missing node ${node}`)
    }
    for (const mark of ['bold', 'italic', 'strike', 'code', 'link', 'underline']) {
      assert.ok(schema.marks[mark], `missing mark ${mark}`)
    }
  })
})
