import { TandemEditorElement } from './tandem-editor.js'

export { TandemEditorElement }
export type { TokenProvider, TokenReason } from './token-source.js'

declare global {
  interface HTMLElementTagNameMap {
    'tandem-editor': TandemEditorElement
  }
}

// A page may load embed.js twice (two widgets, two script tags): the first definition stands.
if (customElements.get('tandem-editor') === undefined) customElements.define('tandem-editor', TandemEditorElement)
