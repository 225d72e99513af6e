import { authHeaders } from '../collab/session.js'
import { h, timeAgo } from '../ui/dom.js'

interface ListedDocument {
  name: string
  updatedAt: string
  clients: number
  editors: string[]
}

/** `/`: the documents on this server, and a way to start a new one. */
export async function renderDocumentList(root: HTMLElement): Promise<void> {
  document.title = 'Documents · Tandem'
  const list = h('div', { 'class': 'doc-list', 'data-testid': 'document-list' }, h('p', { class: 'muted' }, 'Loading…'))
  const nameInput = h('input', { 'class': 'open-name', 'placeholder': 'Document name', 'aria-label': 'Document name' })
  root.replaceChildren(
    h('header', { class: 'topbar' }, h('a', { class: 'brand', href: '/' }, h('span', { class: 'logo' }), 'Tandem')),
    h('main', { class: 'home' },
      h('div', { class: 'home-head' },
        h('h1', {}, 'Documents'),
        h('button', { type: 'button', class: 'button button-primary', onclick: () => openDocument(newName()) }, 'New document'),
      ),
      h('form', { class: 'open-form', onsubmit: (event: Event) => {
        event.preventDefault()
        if (nameInput.value.trim()) openDocument(nameInput.value.trim())
      } }, nameInput, h('button', { type: 'submit', class: 'button' }, 'Open')),
      list,
    ),
  )
  const response = await fetch('/api/documents', { headers: authHeaders() })
  if (!response.ok) {
    list.replaceChildren(h('p', { class: 'muted' },
      response.status === 401 || response.status === 403
        ? 'Listing documents needs an admin link. You can still open a document by its name.'
        : 'The document list is not available right now.'))
    return
  }
  const { documents } = (await response.json()) as { documents: ListedDocument[] }
  if (documents.length === 0) {
    list.replaceChildren(h('p', { class: 'muted' }, 'No documents yet. Start one with “New document”.'))
    return
  }
  list.replaceChildren(h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Last change'), h('th', {}, 'Editing now'))),
    h('tbody', {}, ...documents.map((doc) => h('tr', {},
      h('td', {}, h('a', { href: `/d/${encodeURIComponent(doc.name)}` }, doc.name)),
      h('td', { title: new Date(doc.updatedAt).toLocaleString() }, timeAgo(new Date(doc.updatedAt))),
      h('td', {}, doc.editors.length > 0 ? doc.editors.join(', ') : doc.clients > 0 ? `${doc.clients} connected` : '—'),
    ))),
  ))
}

function openDocument(name: string): void {
  // Spaces are the most common thing a name may not hold; the server refuses the rest.
  location.assign(`/d/${encodeURIComponent(name.replace(/\s+/g, '-'))}`)
}

function newName(): string {
  const date = new Date().toISOString().slice(0, 10)
  return `doc-${date}-${Math.random().toString(36).slice(2, 8)}`
}
