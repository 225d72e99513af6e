import './styles.css'
import { adoptLinkToken } from './collab/session.js'
import { renderDocumentList } from './pages/document-list.js'
import { renderEditorPage } from './pages/editor-page.js'

const root = document.getElementById('app')!
// Moves a token from the link into the tab before anything else reads the address.
adoptLinkToken()
// A share link pasted over this page's own address changes only the fragment: no reload.
addEventListener('hashchange', () => {
  if (adoptLinkToken()) location.reload()
})
const match = /^\/d\/([^/]+)\/?$/.exec(location.pathname)
if (match) {
  renderEditorPage(root, decodeURIComponent(match[1]!))
} else {
  void renderDocumentList(root)
}
