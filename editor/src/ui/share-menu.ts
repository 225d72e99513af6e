import { requestShareLink, ShareError, type ShareLink } from '../collab/session.js'
import { h } from './dom.js'

export interface ShareMenuOptions {
  /** The document to share. */
  readonly name: string
  /** Whether this tab may edit, so it may also hand out edit links. */
  readonly canWrite: () => boolean
}

/**
 * "Share": a button and its panel. The panel asks the server for a link with a token of its
 * own for the chosen role (view or edit), shows it and copies it. The tab's own token is never
 * put in a link.
 */
export function createShareMenu({ name, canWrite }: ShareMenuOptions): HTMLElement {
  const role = h('select', { 'class': 'share-role', 'aria-label': 'People with the link', 'data-testid': 'share-role' },
    h('option', { value: 'read' }, 'Can view'),
    h('option', { value: 'write' }, 'Can edit'),
  )
  const copy = h('button', { 'type': 'button', 'class': 'button button-primary', 'data-testid': 'share-copy' }, 'Copy link')
  const link = h('input', {
    'class': 'share-link',
    'readonly': true,
    'aria-label': 'Share link',
    'placeholder': 'The link appears here',
    'data-testid': 'share-link',
  })
  const note = h('p', { 'class': 'share-note', 'role': 'status', 'data-testid': 'share-note' })
  const panel = h('div', { 'class': 'share-panel', 'role': 'dialog', 'aria-label': 'Share this document', 'hidden': true },
    h('p', { class: 'share-title' }, 'Share this document'),
    h('label', { class: 'share-row' }, h('span', {}, 'Anyone with the link'), role),
    h('div', { class: 'share-row' }, link, copy),
    note,
  )
  const toggle = h('button', {
    'type': 'button',
    'class': 'button',
    'aria-haspopup': 'dialog',
    'aria-expanded': 'false',
    'data-testid': 'share-button',
  }, 'Share')

  const open = (show: boolean) => {
    panel.hidden = !show
    toggle.setAttribute('aria-expanded', String(show))
    if (!show) return
    const writable = canWrite()
    role.options[1]!.disabled = !writable
    if (!writable) role.value = 'read'
    role.focus()
  }
  toggle.addEventListener('click', () => open(panel.hidden))
  panel.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return
    open(false)
    toggle.focus()
  })
  document.addEventListener('pointerdown', (event) => {
    if (!panel.hidden && !menu.contains(event.target as Node)) open(false)
  })
  // A link made for one role must not be copied as if it were for the other.
  role.addEventListener('change', () => {
    link.value = ''
    note.textContent = ''
  })

  copy.addEventListener('click', async () => {
    copy.disabled = true
    note.dataset.state = ''
    note.textContent = 'Making a link…'
    try {
      const shared = await requestShareLink(name, role.value === 'write' ? 'write' : 'read')
      link.value = shared.url
      const copied = await copyText(shared.url, link)
      note.textContent = `${copied ? 'Link copied. ' : 'Copy the link above. '}${describe(shared)}`
      note.dataset.state = 'done'
    } catch (error) {
      link.value = ''
      note.textContent = error instanceof ShareError ? error.message : 'The server could not be reached; try again.'
      note.dataset.state = 'error'
    } finally {
      copy.disabled = false
    }
  })

  const menu = h('div', { class: 'share' }, toggle, panel)
  return menu
}

function describe(link: ShareLink): string {
  if (link.tokenless) return 'This server has no sign-in: anyone with the link can edit.'
  const what = link.role === 'write' ? 'view and edit' : 'view'
  const until = link.expiresAt === null ? '' : ` until ${link.expiresAt.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`
  return `Anyone with it can ${what} this document${until}.`
}

/** The clipboard API needs a secure context; elsewhere the selected field is copied. */
async function copyText(text: string, field: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    field.focus()
    field.select()
    return document.execCommand('copy')
  }
}
