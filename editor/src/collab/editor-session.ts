import { HocuspocusProvider, type HocuspocusProviderWebsocket, WebSocketStatus } from '@hocuspocus/provider'
import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import * as Y from 'yjs'
import { CONTENT_FIELD, documentExtensions } from '../schema/extensions.js'
import type { Identity } from './identity.js'

/** What an editor on a shared document needs: where it mounts, which document, over which socket, as whom. */
export interface EditorSessionOptions {
  /** The element ProseMirror mounts into. */
  readonly element: HTMLElement
  /** The document name. */
  readonly name: string
  /** The Hocuspocus socket (one per server, shared by every document open on it). */
  readonly socket: HocuspocusProviderWebsocket
  /** The token, or a function asked for one on every (re)authentication. */
  readonly token: string | (() => Promise<string>)
  /** How this person appears to the others. */
  readonly user: Identity
  /** Attributes of the editable element (class, aria-label…). */
  readonly attributes: Record<string, string>
  /**
   * Whether Tiptap may add its own `<style>`: never under Tandem's CSP, which forbids inline
   * styles; styles.css and the element's stylesheet carry the same rules.
   */
  readonly injectCSS?: boolean
}

/** One open document: its Y.Doc, its provider and the Tiptap editor bound to it. */
export interface EditorSession {
  readonly doc: Y.Doc
  readonly provider: HocuspocusProvider
  readonly editor: Editor
  /** Detaches from the socket and tears down the editor. */
  destroy(): void
}

/** The connection as a person sees it. */
export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected'

/** Someone with the document open, from the awareness states. */
export interface PresentUser {
  readonly name: string
  readonly color: string
  /** Whether it is this client. */
  readonly self: boolean
}

/**
 * Opens `name` on `socket` and binds a Tiptap editor with the document schema to it. The one
 * editor code path: Tandem's own page and the embeddable `<tandem-editor>` both start here.
 */
export function openEditorSession(options: EditorSessionOptions): EditorSession {
  const doc = new Y.Doc()
  const provider = new HocuspocusProvider({
    websocketProvider: options.socket,
    name: options.name,
    document: doc,
    token: options.token,
  })
  provider.attach()
  const editor = new Editor({
    element: options.element,
    injectCSS: options.injectCSS ?? false,
    extensions: [
      ...documentExtensions,
      Collaboration.configure({ document: doc, field: CONTENT_FIELD }),
      CollaborationCaret.configure({ provider, user: options.user }),
    ],
    editorProps: { attributes: options.attributes },
  })
  return {
    doc,
    provider,
    editor,
    destroy() {
      editor.destroy()
      provider.destroy()
      doc.destroy()
    },
  }
}

/** Connected only once the socket is open and the server accepted this document's token. */
export function connectionStatus(
  session: EditorSession,
  socket: HocuspocusProviderWebsocket,
): ConnectionStatus {
  if (socket.status === WebSocketStatus.Connected && session.provider.isAuthenticated) return 'connected'
  return socket.status === WebSocketStatus.Disconnected ? 'disconnected' : 'connecting'
}

/** Everyone with a name in the document's awareness, this client included. */
export function presentUsers(session: EditorSession): PresentUser[] {
  const users: PresentUser[] = []
  for (const [clientId, state] of session.provider.awareness?.getStates() ?? []) {
    const user = (state as { user?: Partial<Identity> }).user
    if (typeof user?.name !== 'string' || user.name === '') continue
    users.push({ name: user.name, color: safeColor(user.color), self: clientId === session.doc.clientID })
  }
  return users
}

/** A colour from another client, usable in CSS, or a neutral grey. */
export function safeColor(color: unknown): string {
  return typeof color === 'string' && /^#[0-9a-f]{6}$/i.test(color) ? color : '#64748b'
}
