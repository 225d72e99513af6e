import * as Y from 'yjs'

// What an update would do to a document, read from the decoded update and the document's
// own structs, without applying anything: whether it brings anything new, and how deep it
// would nest shared types.

/** A Yjs update, decoded once by the codec and read by every check after it. */
export type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>

/**
 * How deep shared types may nest: the conversions hold ProseMirror content 100 levels deep
 * (`MAX_CONTENT_DEPTH` in content/formats.ts). The document node is the root fragment,
 * which is not counted here, and text is a type of its own (Y.XmlText): 100 - 1.
 */
export const MAX_TYPE_DEPTH = 99

/**
 * Whether `doc` already has everything `decoded` holds: each struct's clock range and each
 * deletion. What a read-only client sends back on sync usually is; checking costs the
 * update's size, not the document's (unlike a snapshot, which reads every struct).
 */
export function isContainedIn(doc: Y.Doc, decoded: DecodedUpdate): boolean {
  for (const struct of decoded.structs) {
    if (struct instanceof Y.Skip) continue
    if (Y.getState(doc.store, struct.id.client) < struct.id.clock + struct.length) return false
  }
  for (const [client, deletions] of decoded.ds.clients) {
    const structs = doc.store.clients.get(client)
    for (const { clock, len } of deletions) {
      if (structs === undefined || Y.getState(doc.store, client) < clock + len) return false
      for (let index = Y.findIndexSS(structs, clock); index < structs.length; index++) {
        const struct = structs[index]!
        if (struct.id.clock >= clock + len) break
        if (!struct.deleted) return false
      }
    }
  }
  return true
}

/**
 * The deepest nesting of shared types (1 for a type directly in a root, such as a
 * paragraph in the `default` fragment) among the types `decoded` adds to `doc`, or 0 when
 * it adds none (typing adds none). Parents are found through the update itself and the
 * document; a parent neither has (the update waits for it) counts as a root.
 */
export function addedTypeDepth(doc: Y.Doc, decoded: DecodedUpdate): number {
  const added = decoded.structs.filter(
    (struct): struct is Y.Item => struct instanceof Y.Item && struct.content instanceof Y.ContentType,
  )
  if (added.length === 0) return 0
  const parents = new ParentDepths(doc, decoded.structs)
  let deepest = 0
  for (const item of added) deepest = Math.max(deepest, parents.of(item) + 1)
  return deepest
}

/** The number of shared types above each item of an update, memoised, found without recursion. */
class ParentDepths {
  readonly #byClient = new Map<number, Y.Item[]>()
  readonly #known = new Map<Y.Item, number>()

  constructor(
    private readonly doc: Y.Doc,
    structs: ReadonlyArray<Y.Item | Y.GC | Y.Skip>,
  ) {
    for (const struct of structs) {
      if (!(struct instanceof Y.Item)) continue
      const list = this.#byClient.get(struct.id.client)
      if (list === undefined) this.#byClient.set(struct.id.client, [struct])
      else list.push(struct)
    }
    for (const list of this.#byClient.values()) list.sort((a, b) => a.id.clock - b.id.clock)
  }

  /** Types above `start`: follows parents (one level each) and origins (same level). */
  of(start: Y.Item): number {
    const chain: Array<{ item: Y.Item, levels: number }> = []
    const visiting = new Set<Y.Item>()
    let item = start
    let base: number
    for (;;) {
      const known = this.#known.get(item)
      if (known !== undefined) {
        base = known
        break
      }
      visiting.add(item)
      const step = this.#step(item)
      if (step.kind === 'resolved') {
        base = step.depth
        this.#known.set(item, base)
        break
      }
      // A cycle cannot integrate; it counts as a root rather than looping.
      if (visiting.has(step.item)) {
        base = 0
        this.#known.set(item, base)
        break
      }
      chain.push({ item, levels: step.levels })
      item = step.item
    }
    for (let index = chain.length - 1; index >= 0; index--) {
      const link = chain[index]!
      base += link.levels
      this.#known.set(link.item, base)
    }
    return this.#known.get(start) ?? base
  }

  /**
   * One step up from an item of the update: its parent is a root (resolved), a type in the
   * document (resolved), or an item of the update, reached through the parent (one level
   * up) or through an origin (a sibling: the same level).
   */
  #step(item: Y.Item): { kind: 'resolved', depth: number } | { kind: 'next', item: Y.Item, levels: number } {
    const parent = item.parent as unknown
    if (typeof parent === 'string') return { kind: 'resolved', depth: 0 }
    if (parent instanceof Y.ID) {
      const inUpdate = this.#find(parent)
      if (inUpdate !== null) return { kind: 'next', item: inUpdate, levels: 1 }
      return { kind: 'resolved', depth: this.#depthInDocument(parent, true) }
    }
    for (const sibling of [item.origin, item.rightOrigin]) {
      if (sibling === null) continue
      const inUpdate = this.#find(sibling)
      if (inUpdate !== null) return { kind: 'next', item: inUpdate, levels: 0 }
      return { kind: 'resolved', depth: this.#depthInDocument(sibling, false) }
    }
    return { kind: 'resolved', depth: 0 }
  }

  /** The update's item holding `id`, or null. */
  #find(id: Y.ID): Y.Item | null {
    const list = this.#byClient.get(id.client)
    if (list === undefined) return null
    let low = 0
    let high = list.length - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const struct = list[middle]!
      if (id.clock < struct.id.clock) high = middle - 1
      else if (id.clock >= struct.id.clock + struct.length) low = middle + 1
      else return struct
    }
    return null
  }

  /**
   * Types above a child of the document's item at `id` (`isParent`: the item is that
   * type itself) or above a sibling of it; 0 when the document does not have it.
   */
  #depthInDocument(id: Y.ID, isParent: boolean): number {
    if (Y.getState(this.doc.store, id.client) <= id.clock) return 0
    const item = Y.getItem(this.doc.store, id)
    if (!(item instanceof Y.Item)) return 0
    let depth = isParent ? 1 : 0
    let type = item.parent as Y.AbstractType<unknown> | null
    while (type?._item) {
      depth++
      type = type._item.parent as Y.AbstractType<unknown> | null
    }
    return depth
  }
}
