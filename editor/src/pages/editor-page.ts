import { IndexeddbPersistence } from 'y-indexeddb'
import { connectionStatus, openEditorSession, presentUsers, type EditorSession } from '../collab/editor-session.js'
import { loadIdentity, saveIdentity, type Identity } from '../collab/identity.js'
import { saysDeleted } from '../collab/deleted.js'
import { saysCannotSave } from '../collab/reconnect-delay.js'
import { currentToken, sharedSocket } from '../collab/session.js'
import { presenceName } from '../collab/token-claims.js'
import { h } from '../ui/dom.js'
import { createShareMenu } from '../ui/share-menu.js'
import { createToolbar } from '../ui/toolbar.js'

/** `/d/:document`: the editor, bound to the shared document. */
export function renderEditorPage(root: HTMLElement, name: string): void {
  document.title = `${name} · Tandem`
  // With a token that names its holder, the server shows that name to everyone: show it here too.
  const tokenName = presenceName(currentToken())
  const saved = loadIdentity()
  const identity = tokenName === null ? saved : { ...saved, name: tokenName }
  const socket = sharedSocket()
  const editorElement = h('div', { class: 'page' })
  const session = openEditorSession({
    element: editorElement,
    name,
    socket,
    token: currentToken() ?? '',
    user: identity,
    attributes: { 'class': 'prose', 'aria-label': `Document ${name}`, 'spellcheck': 'true' },
  })
  const { doc, provider, editor } = session
  // Edits made offline survive a reload and merge when the server is back.
  const offline = new IndexeddbPersistence(`tandem:${name}`, doc)

  const connection = h('span', { 'class': 'pill', 'data-testid': 'connection-status' }, 'Connecting…')
  const saving = h('span', { 'class': 'pill', 'data-testid': 'save-status' }, 'Saved')
  const mode = h('span', { 'class': 'pill pill-readonly', 'data-testid': 'read-only', 'hidden': true }, 'Read only')
  const presence = h('ul', { 'class': 'presence', 'aria-label': 'People here', 'data-testid': 'presence' })
  const problem = h('div', { class: 'banner', role: 'alert', hidden: true })
  const nameInput = h('input', { 'class': 'identity-name', 'value': identity.name, 'aria-label': 'Your name', 'maxlength': '40' })
  if (tokenName !== null) {
    nameInput.disabled = true
    nameInput.title = 'Your name comes from your token'
  }
  const colorInput = h('input', { 'class': 'identity-color', 'type': 'color', 'value': identity.color, 'aria-label': 'Your colour' })
  let readOnly = false
  let deleted = false
  let cannotSave = false
  const share = createShareMenu({ name, canWrite: () => !readOnly })

  const toolbar = createToolbar(editor)
  root.replaceChildren(
    h('header', { class: 'topbar' },
      h('a', { class: 'brand', href: '/', title: 'All documents' }, h('span', { class: 'logo' }), 'Tandem'),
      h('h1', { class: 'doc-title', title: name }, name),
      h('div', { class: 'statuses' }, connection, saving, mode),
      presence,
      h('div', { class: 'identity' }, colorInput, nameInput),
      share,
    ),
    toolbar,
    problem,
    h('main', { class: 'sheet' }, editorElement),
  )

  const showStatus = () => {
    if (deleted) return
    const status = connectionStatus(session, socket)
    const online = status === 'connected'
    connection.textContent = online ? 'Online' : status === 'disconnected' ? 'Offline' : 'Connecting…'
    connection.dataset.state = online ? 'online' : status === 'disconnected' ? 'offline' : 'connecting'
    const unsaved = provider.hasUnsyncedChanges
    saving.textContent = unsaved ? (online ? 'Saving…' : 'Not saved yet') : 'Saved'
    saving.dataset.state = unsaved ? 'saving' : 'saved'
  }
  socket.on('status', showStatus)
  provider.on('unsyncedChanges', showStatus)
  provider.on('synced', showStatus)
  provider.on('authenticated', ({ scope }: { scope: string }) => {
    readOnly = scope === 'readonly'
    editor.setEditable(!readOnly)
    mode.hidden = !readOnly
    if (!cannotSave) problem.hidden = true
    showStatus()
  })
  /**
   * The server says the document was deleted: say so, stop editing, stop syncing it, and
   * drop the offline copy, so neither this tab nor a reload brings it back.
   */
  const showDeleted = () => {
    if (deleted) return
    deleted = true
    editor.setEditable(false)
    toolbar.hidden = true
    share.hidden = true
    mode.hidden = true
    connection.textContent = 'Deleted'
    connection.dataset.state = 'deleted'
    saving.hidden = true
    problem.replaceChildren(
      h('strong', {}, 'This document was deleted.'),
      ' Nothing typed here is saved any more. ',
      h('a', { 'href': '/', 'data-testid': 'deleted-back' }, 'Back to all documents'),
    )
    problem.className = 'banner banner-deleted'
    problem.dataset.testid = 'deleted-banner'
    problem.hidden = false
    // Detaches it from the shared socket: no reconnect authenticates it again.
    provider.destroy()
    offline.clearData().catch((error: unknown) => console.warn('Tandem: could not drop the offline copy', error))
  }
  provider.on('close', ({ event }: { event?: { code?: number, reason?: string } }) => {
    if (saysDeleted(event)) showDeleted()
  })
  provider.on('authenticationFailed', ({ reason }: { reason: string }) => {
    if (saysDeleted({ reason })) {
      showDeleted()
      return
    }
    editor.setEditable(false)
    problem.textContent = `You cannot open this document: ${reason}. Ask for a link with access.`
    problem.hidden = false
    showStatus()
  })
  // The server is up but cannot store edits: say so (they stay in this browser) until it can.
  socket.on('disconnect', ({ event }: { event?: { code?: number } }) => {
    if (deleted || !saysCannotSave(event?.code)) return
    cannotSave = true
    problem.className = 'banner'
    problem.dataset.testid = 'cannot-save-banner'
    problem.textContent = 'The server cannot save right now. Your edits are kept in this browser and sent when it can; retrying less often meanwhile.'
    problem.hidden = false
  })
  provider.on('synced', () => {
    if (!cannotSave) return
    cannotSave = false
    problem.hidden = true
  })
  provider.awareness!.on('change', () => renderPresence(presence, session))
  renderPresence(presence, session)

  const updateIdentity = () => {
    const next: Identity = { name: nameInput.value.trim() || identity.name, color: colorInput.value }
    saveIdentity(tokenName === null ? next : { ...next, name: saved.name })
    editor.commands.updateUser(next)
  }
  nameInput.addEventListener('change', updateIdentity)
  colorInput.addEventListener('input', updateIdentity)
  editor.commands.focus('end')
}

function renderPresence(list: HTMLElement, session: EditorSession): void {
  const people: HTMLElement[] = []
  for (const user of presentUsers(session)) {
    const label = user.self ? `${user.name} (you)` : user.name
    const avatar = h('span', { class: 'avatar' }, initials(user.name))
    // Through the CSSOM: a style attribute would need 'unsafe-inline' in the CSP.
    avatar.style.background = user.color
    people.push(h('li', { 'class': 'person', 'title': label, 'data-testid': 'person' },
      avatar,
      h('span', { class: 'person-name' }, label),
    ))
  }
  list.replaceChildren(...people)
}

function initials(name: string): string {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((part) => part[0]!.toUpperCase()).join('')
}
