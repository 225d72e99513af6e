import type { HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import type { JSONContent } from '@tiptap/core'
import {
  type ConnectionStatus,
  connectionStatus,
  type EditorSession,
  openEditorSession,
  presentUsers,
} from '../collab/editor-session.js'
import type { Identity } from '../collab/identity.js'
import { presenceName } from '../collab/token-claims.js'
import { documentExtensions } from '../schema/extensions.js'
import { h } from '../ui/dom.js'
import { createToolbar } from '../ui/toolbar.js'
import { adoptEmbedStyles } from './embed-styles.js'
import { holdSocket, releaseSocket } from './server-socket.js'
import { TokenSession } from './token-session.js'
import type { TokenProvider } from './token-source.js'

/** How long `tandem-change` waits for typing to pause. */
export const CHANGE_DEBOUNCE_MS = 250

const ATTRIBUTES = [
  'server', 'document', 'token', 'token-url', 'readonly', 'user-name', 'user-color',
  'toolbar', 'placeholder', 'theme', 'name',
] as const

const UPGRADED_PROPERTIES = [
  'tokenProvider', 'server', 'document', 'token', 'tokenUrl', 'readonly', 'userName', 'userColor',
  'toolbar', 'placeholder', 'theme', 'name',
] as const

/** Where embed.js came from: the default server. */
const SCRIPT_ORIGIN = new URL(import.meta.url).origin

/**
 * `<tandem-editor document="plan" token="…">`: a live, collaborative Tandem editor in any
 * page. Light DOM (shadow roots break ProseMirror's selection in Safari), styles scoped to
 * the element, form-associated (submits its HTML under `name`). Attributes, `tokenProvider`,
 * methods and `tandem-*` events are described in the README.
 */
export class TandemEditorElement extends HTMLElement {
  static readonly formAssociated = true
  static readonly observedAttributes = ATTRIBUTES

  readonly #internals = this.attachInternals()
  #session: EditorSession | null = null
  #socket: HocuspocusProviderWebsocket | null = null
  #openDocument = ''
  #status: ConnectionStatus | null = null
  #serverReadonly = false
  #tokens: TokenSession | null = null
  /** Refused since the last acceptance or token change: one tandem-auth-error per streak. */
  #refused = false
  #destroyed = false
  #changeTimer: ReturnType<typeof setTimeout> | undefined
  #presence = ''
  #synced: Promise<void> = new Promise(() => undefined)
  #cleanups: Array<() => void> = []
  #tokenProvider: TokenProvider | null = null

  /** Asked for a token on connect, after a refusal and before the current one expires. */
  get tokenProvider(): TokenProvider | null { return this.#tokenProvider }
  set tokenProvider(value: TokenProvider | null) { this.#tokenProvider = value }

  get server(): string { return this.getAttribute('server') ?? SCRIPT_ORIGIN }
  set server(value: string) { this.setAttribute('server', value) }
  get document(): string { return this.getAttribute('document') ?? '' }
  set document(value: string) { this.setAttribute('document', value) }
  get token(): string | null { return this.getAttribute('token') }
  set token(value: string | null) { this.#setOrRemove('token', value) }
  get tokenUrl(): string | null { return this.getAttribute('token-url') }
  set tokenUrl(value: string | null) { this.#setOrRemove('token-url', value) }
  get readonly(): boolean { return this.hasAttribute('readonly') }
  set readonly(value: boolean) { this.toggleAttribute('readonly', value) }
  get userName(): string { return this.getAttribute('user-name') ?? 'Anonymous' }
  set userName(value: string) { this.setAttribute('user-name', value) }
  get userColor(): string { return this.getAttribute('user-color') ?? '#4f46e5' }
  set userColor(value: string) { this.setAttribute('user-color', value) }
  get toolbar(): 'full' | 'minimal' | 'none' {
    const value = this.getAttribute('toolbar')
    return value === 'minimal' || value === 'none' ? value : 'full'
  }

  set toolbar(value: 'full' | 'minimal' | 'none') { this.setAttribute('toolbar', value) }
  get placeholder(): string { return this.getAttribute('placeholder') ?? '' }
  set placeholder(value: string) { this.setAttribute('placeholder', value) }
  get theme(): 'light' | 'dark' | 'auto' {
    const value = this.getAttribute('theme')
    return value === 'dark' || value === 'auto' ? value : 'light'
  }

  set theme(value: 'light' | 'dark' | 'auto') { this.setAttribute('theme', value) }
  get name(): string { return this.getAttribute('name') ?? '' }
  set name(value: string) { this.setAttribute('name', value) }
  /** The form this element submits with, if any. */
  get form(): HTMLFormElement | null { return this.#internals.form }

  constructor() {
    super()
    // A page may set properties before embed.js defines the element: those landed on the
    // plain element and would hide this class's accessors; pass them through the accessors.
    for (const property of UPGRADED_PROPERTIES) {
      if (!Object.hasOwn(this, property)) continue
      const value: unknown = Reflect.get(this, property)
      Reflect.deleteProperty(this, property)
      Reflect.set(this, property, value)
    }
  }

  connectedCallback(): void {
    adoptEmbedStyles(this.ownerDocument)
    this.#open()
  }

  disconnectedCallback(): void {
    this.#close()
  }

  attributeChangedCallback(name: string, previous: string | null, value: string | null): void {
    if (previous === value || this.#session === null) return
    const editor = this.#session.editor
    if (name === 'server' || name === 'document' || name === 'token-url') {
      this.#close()
      this.#open()
    } else if (name === 'token' && this.#refused) {
      // A new token after a refusal: present it now rather than at the next reconnect.
      void this.#session.provider.sendToken()
    } else if (name === 'readonly') {
      editor.setEditable(!this.readonly && !this.#serverReadonly)
    } else if (name === 'user-name' || name === 'user-color') {
      editor.commands.updateUser(this.#user())
    } else if (name === 'placeholder') {
      this.#showPlaceholder()
    }
  }

  /** Resolves once the document's content from the server is shown. */
  whenSynced(): Promise<void> {
    return this.#synced
  }

  /**
   * Resolves when every local change so far is stored on the server: Tandem acknowledges an
   * update only once it is stored, and the provider counts the unacknowledged ones.
   */
  flush(): Promise<void> {
    const provider = this.#session?.provider
    if (provider === undefined) return Promise.reject(new Error('tandem-editor: no document is open'))
    return this.#synced.then(() => new Promise<void>((resolve) => {
      if (!provider.hasUnsyncedChanges) {
        resolve()
        return
      }
      const done = ({ number }: { number: number }) => {
        if (number > 0) return
        provider.off('unsyncedChanges', done)
        resolve()
      }
      provider.on('unsyncedChanges', done)
    }))
  }

  /** The content as ProseMirror JSON. */
  getJSON(): JSONContent {
    return this.#editor().getJSON()
  }

  /** The content as HTML. */
  getHTML(): string {
    return this.#editor().getHTML()
  }

  /** The content as plain text, blocks separated by blank lines. */
  getText(): string {
    return this.#editor().getText()
  }

  /** The content as Markdown; the converter loads on first use, outside the initial script. */
  async getMarkdown(): Promise<string> {
    const json = this.getJSON()
    const { MarkdownManager } = await import('@tiptap/markdown')
    return new MarkdownManager({ extensions: documentExtensions }).serialize(json)
  }

  /** Puts the caret in the editor, at once (Tiptap's focus command waits for a frame). */
  focus(): void {
    this.#editor().view.focus()
  }

  /** Leaves the document and empties the element; it does not come back when re-attached. */
  destroy(): void {
    this.#destroyed = true
    this.#close()
    this.remove()
  }

  #editor() {
    if (this.#session === null) throw new Error('tandem-editor: no document is open')
    return this.#session.editor
  }

  #setOrRemove(attribute: string, value: string | null): void {
    if (value === null) this.removeAttribute(attribute)
    else this.setAttribute(attribute, value)
  }

  #emit(type: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(`tandem-${type}`, { detail, bubbles: true, composed: true }))
  }

  #open(): void {
    if (this.#session !== null || this.#destroyed || this.document === '') return
    const name = this.document
    const surface = h('div', { class: 'tandem-surface' })
    const socket = holdSocket(this.server, name)
    this.#openDocument = name
    this.#socket = socket
    const tokens = new TokenSession(() => this, {
      renewed: () => void this.#session?.provider.sendToken(),
      failed: (message) => this.#emit('error', { message }),
    })
    this.#tokens = tokens
    const session = openEditorSession({
      element: surface,
      name,
      socket,
      token: () => tokens.next(),
      user: this.#user(),
      attributes: { 'class': 'tandem-prose', 'aria-label': `Document ${name}`, 'spellcheck': 'true' },
    })
    this.#session = session
    session.editor.setEditable(!this.readonly)
    const presence = h('ul', { 'class': 'tandem-presence', 'aria-label': 'People here' })
    const state = h('span', { class: 'tandem-state' }, 'Connecting…')
    this.replaceChildren(createToolbar(session.editor), surface, h('div', { class: 'tandem-footer' }, state, presence))
    this.#showPlaceholder()
    this.#cleanups = this.#watchConnection(session, socket, tokens, state)
    this.#watchContent(session, presence)
    this.#emit('ready', { document: name })
  }

  /**
   * Follows the connection, the token and the saving of `session`: shows the state in `state`
   * and fires `tandem-status`, `-synced`, `-saved`, `-auth-error` and `-error`. Returns what
   * undoes it on the shared socket (the rest goes with the session).
   */
  #watchConnection(
    session: EditorSession,
    socket: HocuspocusProviderWebsocket,
    tokens: TokenSession,
    state: HTMLElement,
  ): Array<() => void> {
    const { editor, provider } = session
    const name = this.document
    let resolveSynced = () => undefined as void
    this.#synced = new Promise((resolve) => (resolveSynced = resolve))
    const showStatus = () => {
      const status = connectionStatus(session, socket)
      state.textContent = status === 'connected' ? (provider.hasUnsyncedChanges ? 'Saving…' : 'Saved') : status === 'connecting' ? 'Connecting…' : 'Offline'
      if (status === this.#status) return
      this.#status = status
      this.#emit('status', { status })
    }
    const onSynced = ({ state: synced }: { state: boolean }) => {
      if (!synced) return
      resolveSynced()
      this.#emit('synced', { document: name })
    }
    let unsaved = 0
    const onUnsynced = ({ number }: { number: number }) => {
      showStatus()
      if (number === 0 && unsaved > 0) this.#emit('saved', { document: name })
      unsaved = number
    }
    const onAuthenticated = ({ scope }: { scope: string }) => {
      tokens.accepted()
      // The provider synced right after the refused token, and the server dropped that: sync now.
      if (this.#refused) provider.forceSync()
      this.#refused = false
      this.#serverReadonly = scope === 'readonly'
      editor.setEditable(!this.readonly && !this.#serverReadonly)
      // The server shows the token's name to the others; show the same one here.
      editor.commands.updateUser(this.#user())
      showStatus()
    }
    const onAuthFailed = ({ reason }: { reason: string }) => {
      // No token to present: that was reported as a tandem-error; the server refused nothing.
      if (tokens.unavailable) return showStatus()
      // The provider presents the same token again on every reconnect: say so once.
      if (!this.#refused) this.#emit('auth-error', { reason })
      this.#refused = true
      showStatus()
      // One fresh token per refusal; a second refusal in a row is the page's to resolve.
      if (tokens.refused()) void provider.sendToken()
    }
    let everConnected = false
    const onSocketStatus = () => {
      if (connectionStatus(session, socket) === 'connected') everConnected = true
      showStatus()
    }
    const onSocketClose = ({ event }: { event?: { code?: number, reason?: string } }) => {
      if (everConnected) return
      everConnected = true
      this.#emit('error', { message: `Could not connect to ${this.server}`, code: event?.code ?? null })
    }
    provider.on('synced', onSynced)
    provider.on('unsyncedChanges', onUnsynced)
    provider.on('authenticated', onAuthenticated)
    provider.on('authenticationFailed', onAuthFailed)
    socket.on('status', onSocketStatus)
    socket.on('close', onSocketClose)
    showStatus()
    return [
      () => socket.off('status', onSocketStatus),
      () => socket.off('close', onSocketClose),
    ]
  }

  /**
   * Follows the content and the people of `session`: keeps the form value and `data-empty`
   * current, lists the people in `presence`, and fires `tandem-change` and `tandem-presence`.
   */
  #watchContent(session: EditorSession, presence: HTMLElement): void {
    const { editor, provider } = session
    const name = this.document
    const reflectContent = () => {
      this.#internals.setFormValue(editor.isEmpty ? '' : editor.getHTML())
      this.toggleAttribute('data-empty', editor.isEmpty)
    }
    const onUpdate = () => {
      reflectContent()
      clearTimeout(this.#changeTimer)
      this.#changeTimer = setTimeout(() => this.#emit('change', { document: name }), CHANGE_DEBOUNCE_MS)
    }
    const onAwareness = () => {
      const users = presentUsers(session).map(({ name: person, color }) => ({ name: person, color }))
      const key = JSON.stringify(users)
      this.#renderPresence(presence, users)
      if (key === this.#presence) return
      this.#presence = key
      this.#emit('presence', { users })
    }
    editor.on('update', onUpdate)
    provider.awareness?.on('change', onAwareness)
    reflectContent()
    onAwareness()
  }

  /**
   * How this person shows: the name in the token when it has one (the server shows that one
   * to the others whatever `user-name` says), else `user-name`; and `user-color`.
   */
  #user(): Identity {
    const token = this.#tokens?.presented ?? this.token
    return { name: presenceName(token) ?? this.userName, color: this.userColor }
  }

  #close(): void {
    if (this.#session === null) return
    this.#tokens?.dispose()
    this.#tokens = null
    this.#refused = false
    clearTimeout(this.#changeTimer)
    for (const cleanup of this.#cleanups) cleanup()
    this.#cleanups = []
    this.#session.destroy()
    this.#session = null
    if (this.#socket !== null) releaseSocket(this.#socket, this.#openDocument)
    this.#socket = null
    this.#status = null
    this.#presence = ''
    this.replaceChildren()
  }

  #showPlaceholder(): void {
    // Through the CSSOM: a style attribute would need 'unsafe-inline' in the CSP.
    this.style.setProperty('--_placeholder', JSON.stringify(this.placeholder))
  }

  #renderPresence(list: HTMLElement, users: Array<{ name: string, color: string }>): void {
    list.replaceChildren(...users.map((user) => {
      const item = h('li', { 'class': 'tandem-person', 'title': user.name, 'data-name': user.name }, initials(user.name))
      item.style.background = user.color
      return item
    }))
  }
}

function initials(name: string): string {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((part) => part[0]!.toUpperCase()).join('')
}
