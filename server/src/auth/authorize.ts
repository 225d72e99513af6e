import type { Principal, Role } from './principal.js'

const rank: Record<Role, number> = { read: 0, write: 1, admin: 2 }

/** What a request wants to do with a document; each needs the role of the same name. */
export type Access = Role

/** Whether the principal's role reaches `access` and its `docs` cover the document. */
export function mayAccess(principal: Principal, document: string, access: Access): boolean {
  return rank[principal.role] >= rank[access] && covers(principal.documents, document)
}

/** Whether the principal covers every document (`docs` contains `*`), for listing and creating. */
export function coversAll(principal: Principal): boolean {
  return principal.documents.includes('*')
}

/** Whether one of the names or `*` globs matches the document name. */
export function covers(patterns: readonly string[], document: string): boolean {
  return patterns.some((pattern) => globToRegExp(pattern).test(document))
}

const compiled = new Map<string, RegExp>()

function globToRegExp(pattern: string): RegExp {
  let regexp = compiled.get(pattern)
  if (regexp === undefined) {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')
    regexp = new RegExp(`^${source}$`, 'u')
    if (compiled.size > 10_000) compiled.clear()
    compiled.set(pattern, regexp)
  }
  return regexp
}
