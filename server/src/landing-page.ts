import { html } from 'hono/html'

/** The page at `/` until the editor is served there; `secure` when it was asked over https. */
export function landingPage(host: string, secure = false) {
  const ws = secure ? 'wss' : 'ws'
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Tandem</title>
    <style>
      body { font: 16px/1.6 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
      code, pre { font-family: ui-monospace, monospace; background: #f6f8fa; border-radius: 4px; }
      code { padding: 0.1rem 0.3rem; }
      pre { padding: 1rem; overflow-x: auto; }
    </style>
  </head>
  <body>
    <h1>Tandem</h1>
    <p>A collaborative document server: it relays Yjs updates and presence between everyone
      editing a document and stores every document.</p>
    <p>Connect any y-websocket client to <code>${ws}://${host}/collab/&lt;document&gt;</code>:</p>
    <pre>import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const doc = new Y.Doc()
const provider = new WebsocketProvider('${ws}://${host}/collab', 'my-document', doc)</pre>
    <p>Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</p>
  </body>
</html>`
}
