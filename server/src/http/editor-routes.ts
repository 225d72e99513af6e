import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveStatic } from '@hono/node-server/serve-static'
import { type Context, Hono } from 'hono'
import { landingPage } from '../landing-page.js'

/** Where `npm run build -w editor` puts the web editor. */
export const DEFAULT_EDITOR_DIR = fileURLToPath(new URL('../../../editor/dist/', import.meta.url))

/** How long browsers may keep `/embed.js`: its name is fixed, so a release shows within minutes. */
const EMBED_MAX_AGE_S = 300

/**
 * The web editor: `/` (document list) and `/d/:document` get the app's page, `/assets/*`
 * its files, `/embed.js` the embeddable element. Without a built editor, `/` explains how to
 * connect a client instead.
 *
 * `/embed.js` and the assets are sent with `Access-Control-Allow-Origin: *`: pages on other
 * origins load them as module scripts, which needs CORS. They hold nothing secret; what an
 * origin may do is decided where it connects (ALLOWED_ORIGINS on WebSockets) and by tokens,
 * so an element on a page that is not allowed loads, and says why it cannot connect.
 */
export function editorRoutes(editorDir: string): Hono {
  const routes = new Hono()
  const indexFile = join(editorDir, 'index.html')
  if (!existsSync(indexFile)) {
    routes.get('/', (c) => {
      const url = new URL(c.req.url)
      return c.html(landingPage(url.host, url.protocol === 'https:'))
    })
    return routes
  }
  const page = readFileSync(indexFile, 'utf8')
  const app = (c: Context) => {
    c.header('Cache-Control', 'no-cache')
    return c.html(page)
  }
  routes.get('/', app)
  routes.get('/d/:document', app)
  const root = relative(process.cwd(), editorDir) || '.'
  routes.use('/assets/*', async (c, next) => {
    await next()
    if (!c.res.ok) return
    // File names carry a content hash: a changed file is a new name.
    c.header('Cache-Control', 'public, max-age=31536000, immutable')
    c.header('Access-Control-Allow-Origin', '*')
  })
  routes.get('/assets/*', serveStatic({ root }))
  routes.use('/embed.js', async (c, next) => {
    await next()
    if (!c.res.ok) return
    c.header('Cache-Control', `public, max-age=${EMBED_MAX_AGE_S}`)
    c.header('Access-Control-Allow-Origin', '*')
  })
  routes.get('/embed.js', serveStatic({ root }))
  return routes
}
