import type { AnyExtension } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'

/**
 * The document schema: every node and mark a Tandem document may hold. The editor adds
 * collaboration on top; the server's export and import use this same list, so a document
 * round-trips without loss. Imports nothing that needs a DOM.
 */
export const documentExtensions: AnyExtension[] = [
  StarterKit.configure({
    // Yjs keeps the undo history (per user, across the shared document) instead.
    undoRedo: false,
  }),
]

/** The Y.XmlFragment of the Y.Doc that holds the content (Tiptap's default). */
export const CONTENT_FIELD = 'default'
