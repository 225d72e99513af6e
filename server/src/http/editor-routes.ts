import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveStatic } from '@hono/node-server/serve-static'
import { type Context, Hono } from 'hono'
import { landingPage } from '../landing-page.js'

/** Where `npm run build -w editor` puts the web editor. */
export const DEFAULT_EDITOR_DIR = fileURLToPath(new URL('../../../editor/dist/', import.meta.url))

/**
 * The web editor: `/` (document list) and `/d/:document` get the app's page, `/assets/*`
 * its files. Without a built editor, `/` explains how to connect a client instead.
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
  routes.use('/assets/*', async (c, next) => {
    await next()
    // File names carry a content hash: a changed file is a new name.
    if (c.res.ok) c.header('Cache-Control', 'public, max-age=31536000, immutable')
  })
  routes.get('/assets/*', serveStatic({ root: relative(process.cwd(), editorDir) || '.' }))
  return routes
}
