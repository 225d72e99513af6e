import type { HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import type { JSONContent } from '@tiptap/core'
import {
  type ConnectionStatus,
  connectionStatus,
  type EditorSession,
  openEditorSession,
  presentUsers,
} from '../collab/editor-session.js'
import { documentExtensions } from '../schema/extensions.js'
import { h } from '../ui/dom.js'
import { createToolbar } from '../ui/toolbar.js'
import { adoptEmbedStyles } from './embed-styles.js'
import { holdSocket, releaseSocket } from './server-socket.js'
import { fetchToken, renewalDelay, tokenExpiry, type TokenProvider, type TokenReason } from './token-source.js'

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
  #currentToken: string | null = null
  #tokenReason: TokenReason = 'connect'
  #retriedAuth = false
  #renewTimer: ReturnType<typeof setTimeout> | undefined
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
    } else if (name === 'readonly') {
      editor.setEditable(!this.readonly && !this.#serverReadonly)
    } else if (name === 'user-name' || name === 'user-color') {
      editor.commands.updateUser({ name: this.userName, color: this.userColor })
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

  /** Puts the caret in the editor. */
  focus(): void {
    this.#editor().commands.focus()
  }

  /** Leaves the document and empties the element; it does not come back when re-attached. */
  destroy(): void {
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
    if (this.#session !== null || this.document === '') return
    const name = this.document
    const surface = h('div', { class: 'tandem-surface' })
    const socket = holdSocket(this.server, name)
    this.#openDocument = name
    this.#socket = socket
    const session = openEditorSession({
      element: surface,
      name,
      socket,
      token: () => this.#nextToken(),
      user: { name: this.userName, color: this.userColor },
      attributes: { 'class': 'tandem-prose', 'aria-label': `Document ${name}`, 'spellcheck': 'true' },
    })
    this.#session = session
    const { editor, provider } = session
    editor.setEditable(!this.readonly)
    const presence = h('ul', { 'class': 'tandem-presence', 'aria-label': 'People here' })
    const state = h('span', { class: 'tandem-state' }, 'Connecting…')
    this.replaceChildren(createToolbar(editor), surface, h('div', { class: 'tandem-footer' }, state, presence))
    this.#showPlaceholder()

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
      this.#retriedAuth = false
      this.#serverReadonly = scope === 'readonly'
      editor.setEditable(!this.readonly && !this.#serverReadonly)
      showStatus()
    }
    const onAuthFailed = ({ reason }: { reason: string }) => {
      this.#emit('auth-error', { reason })
      showStatus()
      // One fresh token per refusal; a second refusal in a row is the page's to resolve.
      if (this.#retriedAuth || (this.tokenProvider === null && this.tokenUrl === null)) return
      this.#retriedAuth = true
      this.#tokenReason = 'auth-failed'
      void provider.sendToken()
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
    const onUpdate = () => {
      this.#internals.setFormValue(editor.isEmpty ? '' : editor.getHTML())
      this.toggleAttribute('data-empty', editor.isEmpty)
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
    provider.on('synced', onSynced)
    provider.on('unsyncedChanges', onUnsynced)
    provider.on('authenticated', onAuthenticated)
    provider.on('authenticationFailed', onAuthFailed)
    socket.on('status', onSocketStatus)
    socket.on('close', onSocketClose)
    editor.on('update', onUpdate)
    provider.awareness?.on('change', onAwareness)
    this.#cleanups = [
      () => socket.off('status', onSocketStatus),
      () => socket.off('close', onSocketClose),
    ]
    onUpdate()
    showStatus()
    onAwareness()
    this.#emit('ready', { document: name })
  }

  #close(): void {
    if (this.#session === null) return
    clearTimeout(this.#renewTimer)
    clearTimeout(this.#changeTimer)
    for (const cleanup of this.#cleanups) cleanup()
    this.#cleanups = []
    this.#session.destroy()
    this.#session = null
    if (this.#socket !== null) releaseSocket(this.#socket, this.#openDocument)
    this.#socket = null
    this.#status = null
    this.#presence = ''
    this.#currentToken = null
    this.replaceChildren()
  }

  /** The token for the provider: the page's, fetched again when renewal or a refusal asks. */
  async #nextToken(): Promise<string> {
    const reason = this.#tokenReason
    this.#tokenReason = 'connect'
    if (this.tokenProvider === null && this.tokenUrl === null) return this.token ?? ''
    if (reason === 'connect' && this.#currentToken !== null && !this.#expiresSoon(this.#currentToken)) return this.#currentToken
    return this.#fetchToken(reason)
  }

  async #fetchToken(reason: TokenReason): Promise<string> {
    const document = this.document
    try {
      const token = this.tokenProvider !== null
        ? await this.tokenProvider({ document, reason })
        : await fetchToken(new URL(this.tokenUrl!, location.href).toString(), document)
      this.#currentToken = token
      this.#scheduleRenewal(token)
      return token
    } catch (error) {
      this.#emit('error', { message: `No token for ${document}: ${String(error)}` })
      throw error
    }
  }

  #expiresSoon(token: string): boolean {
    const expiresAt = tokenExpiry(token)
    return expiresAt !== null && renewalDelay(expiresAt, Date.now()) === 0
  }

  /** Fetches the next token before this one expires, so any reconnect presents a valid one. */
  #scheduleRenewal(token: string): void {
    clearTimeout(this.#renewTimer)
    const expiresAt = tokenExpiry(token)
    if (expiresAt === null) return
    this.#renewTimer = setTimeout(() => {
      this.#fetchToken('expiring').then(
        () => this.#session?.provider.sendToken(),
        () => undefined,
      )
    }, renewalDelay(expiresAt, Date.now()))
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
