import './styles.css'
import { currentToken } from './collab/session.js'
import { renderDocumentList } from './pages/document-list.js'
import { renderEditorPage } from './pages/editor-page.js'

const root = document.getElementById('app')!
// Moves a token from the link into the tab before anything else reads the address.
currentToken()
const match = /^\/d\/([^/]+)\/?$/.exec(location.pathname)
if (match) {
  renderEditorPage(root, decodeURIComponent(match[1]!))
} else {
  void renderDocumentList(root)
}
