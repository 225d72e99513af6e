import type { JSONContent } from '@tiptap/core'
import type { Schema } from '@tiptap/pm/model'

/** Checks one attribute value; returns what it should have been, or null when it fits. */
type AttributeCheck = (value: unknown) => string | null

const optionalString: AttributeCheck = (value) =>
  value === null || typeof value === 'string' ? null : 'a string or null'

const oneOf = (allowed: readonly unknown[]): AttributeCheck => (value) =>
  allowed.includes(value) ? null : `one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`

const integer: AttributeCheck = (value) => (Number.isSafeInteger(value) ? null : 'an integer')

/**
 * The type of every attribute of the schema's nodes and marks, as ProseMirror itself does not
 * check them: a heading of level "x" or 99 would reach every editor and every export.
 * `attributeChecks` refuses a schema with an attribute missing here, so a new extension
 * cannot slip through unchecked.
 */
const checks: Record<string, Record<string, AttributeCheck>> = {
  heading: { level: oneOf([1, 2, 3, 4, 5, 6]) },
  codeBlock: { language: optionalString },
  orderedList: { start: integer, type: oneOf([null, '1', 'a', 'A', 'i', 'I']) },
  link: {
    href: optionalString,
    target: optionalString,
    rel: optionalString,
    class: optionalString,
    title: optionalString,
  },
}

/** The checks for `schema`; throws when one of its attributes has none. */
export function attributeChecks(schema: Schema): Record<string, Record<string, AttributeCheck>> {
  for (const type of [...Object.values(schema.nodes), ...Object.values(schema.marks)]) {
    for (const attribute of Object.keys(type.spec.attrs ?? {})) {
      if (checks[type.name]?.[attribute] === undefined) {
        throw new Error(`no type check for the attribute ${attribute} of ${type.name}`)
      }
    }
  }
  return checks
}

/**
 * The first ill-typed attribute in `root` (its nodes and their marks), described, or null
 * when all fit. Attributes the schema does not have are ignored, as ProseMirror drops them.
 */
export function findIllTypedAttribute(
  root: JSONContent,
  checksByType: Record<string, Record<string, AttributeCheck>>,
): string | null {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const node = stack.pop() as JSONContent | null
    if (node === null || typeof node !== 'object') continue
    const marks: unknown[] = Array.isArray(node.marks) ? node.marks : []
    for (const item of [node, ...marks]) {
      const { type, attrs } = (item ?? {}) as { type?: unknown, attrs?: unknown }
      if (attrs === undefined || typeof type !== 'string') continue
      if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) return `the attrs of ${type} must be an object`
      for (const [name, check] of Object.entries(checksByType[type] ?? {})) {
        if (!(name in attrs)) continue
        const value = (attrs as Record<string, unknown>)[name]
        const expected = check(value)
        if (expected !== null) return `${type}.${name} must be ${expected}, not ${JSON.stringify(value)}`
      }
    }
    if (Array.isArray(node.content)) for (const child of node.content) stack.push(child)
  }
  return null
}
