/** How a person appears to the others: in the presence list and on their caret. */
export interface Identity {
  name: string
  color: string
}

const KEY = 'tandem:identity'
const COLORS = ['#e11d48', '#d97706', '#059669', '#0284c7', '#7c3aed', '#db2777', '#0d9488', '#4f46e5']
const ANIMALS = ['Otter', 'Heron', 'Lynx', 'Fox', 'Wren', 'Badger', 'Ibis', 'Marten', 'Puffin', 'Hare']

/** This browser's identity, made up the first time and remembered in localStorage. */
export function loadIdentity(): Identity {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<Identity> | null
    if (saved && typeof saved.name === 'string' && typeof saved.color === 'string') {
      return { name: saved.name, color: saved.color }
    }
  } catch {
    // A damaged entry is replaced below.
  }
  const identity = { name: `Anonymous ${pick(ANIMALS)}`, color: pick(COLORS) }
  saveIdentity(identity)
  return identity
}

export function saveIdentity(identity: Identity): void {
  localStorage.setItem(KEY, JSON.stringify(identity))
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!
}
