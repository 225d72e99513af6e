import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import { addedTypeDepth, isContainedIn } from './update-shape.js'

/** The update `change` makes to a copy of `base`. */
function changeOf(base: Y.Doc, change: (doc: Y.Doc) => void): Uint8Array {
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(base))
  const before = Y.encodeStateVector(copy)
  copy.transact(() => change(copy))
  return Y.encodeStateAsUpdate(copy, before)
}

/** Nests `depth` elements inside `parent`, each as the only child of the one before. */
function nest(parent: Y.XmlFragment | Y.XmlElement, depth: number): Y.XmlElement {
  let current = parent
  for (let i = 0; i < depth; i++) {
    const child = new Y.XmlElement('blockquote')
    current.insert(0, [child])
    current = child
  }
  return current as Y.XmlElement
}

describe('update shape', () => {
  it('[US1] the depth of types an update adds counts levels in the update and in the document', () => {
    const doc = new Y.Doc()
    assert.equal(addedTypeDepth(doc, Y.decodeUpdate(changeOf(doc, (d) => d.getText('t').insert(0, 'typing')))), 0)
    const deep = changeOf(doc, (d) => nest(d.getXmlFragment('default'), 20_000))
    assert.equal(addedTypeDepth(doc, Y.decodeUpdate(deep)), 20_000)
    const thirty = changeOf(doc, (d) => nest(d.getXmlFragment('default'), 30))
    Y.applyUpdate(doc, thirty)
    assert.equal(addedTypeDepth(new Y.Doc(), Y.decodeUpdate(thirty)), 30)
    // More levels below the deepest element the document has, and a sibling beside it.
    let deepest = doc.getXmlFragment('default').get(0) as Y.XmlElement
    while (deepest.length > 0) deepest = deepest.get(0) as Y.XmlElement
    const below = changeOf(doc, (d) => {
      let inner = d.getXmlFragment('default').get(0) as Y.XmlElement
      while (inner.length > 0) inner = inner.get(0) as Y.XmlElement
      nest(inner, 5)
      inner.insert(inner.length, [new Y.XmlText('x')])
    })
    assert.equal(addedTypeDepth(doc, Y.decodeUpdate(below)), 35)
    const besideTop = changeOf(doc, (d) => d.getXmlFragment('default').insert(1, [new Y.XmlElement('paragraph')]))
    assert.equal(addedTypeDepth(doc, Y.decodeUpdate(besideTop)), 1)
  })

  it('[US2] an update is contained when the document has its structs and its deletions', () => {
    const doc = new Y.Doc()
    const first = changeOf(doc, (d) => d.getText('t').insert(0, 'hello world'))
    Y.applyUpdate(doc, first)
    assert.ok(isContainedIn(doc, Y.decodeUpdate(first)))
    assert.ok(isContainedIn(doc, Y.decodeUpdate(Y.encodeStateAsUpdate(doc))))
    const deletion = changeOf(doc, (d) => d.getText('t').delete(0, 6))
    assert.ok(!isContainedIn(doc, Y.decodeUpdate(deletion)), 'a deletion the document lacks is new')
    Y.applyUpdate(doc, deletion)
    assert.ok(isContainedIn(doc, Y.decodeUpdate(deletion)))
    const insertion = changeOf(doc, (d) => d.getText('t').insert(0, '!'))
    assert.ok(!isContainedIn(doc, Y.decodeUpdate(insertion)), 'an insertion the document lacks is new')
  })
})
