import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryStore } from '@tandem/persistence/memory-store'
import { startTestServer, temporaryDirectory } from '../test-support/server.js'

describe('/embed.js', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let editorDir: Awaited<ReturnType<typeof temporaryDirectory>>

  before(async () => {
    // A stand-in for editor/dist, so the test does not depend on a built editor.
    editorDir = await temporaryDirectory()
    await mkdir(join(editorDir.path, 'assets'))
    await writeFile(join(editorDir.path, 'index.html'), '<!doctype html><title>Tandem</title>')
    await writeFile(join(editorDir.path, 'embed.js'), 'import("./assets/chunk-abc123.js")')
    await writeFile(join(editorDir.path, 'assets', 'chunk-abc123.js'), 'export {}')
    server = await startTestServer({
      store: new MemoryStore(),
      editorDir: editorDir.path,
      allowedOrigins: new Set(['https://docs.example']),
    })
  })
  after(async () => {
    await server.stop()
    await editorDir.dispose()
  })

  it('[ES1] /embed.js and its chunks load from any origin (CORS), the script cached briefly, chunks for good', async () => {
    for (const origin of ['https://docs.example', 'https://elsewhere.example']) {
      const script = await fetch(`${server.url}/embed.js`, { headers: { Origin: origin } })
      assert.equal(script.status, 200)
      assert.match(script.headers.get('content-type') ?? '', /javascript/)
      assert.equal(script.headers.get('access-control-allow-origin'), '*')
      assert.equal(script.headers.get('cache-control'), 'public, max-age=300')
      assert.equal(await script.text(), 'import("./assets/chunk-abc123.js")')
      const chunk = await fetch(`${server.url}/assets/chunk-abc123.js`, { headers: { Origin: origin } })
      assert.equal(chunk.status, 200)
      assert.equal(chunk.headers.get('access-control-allow-origin'), '*')
      assert.equal(chunk.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    }
    // The app's own page is not for other origins to read.
    const page = await fetch(`${server.url}/d/plan`, { headers: { Origin: 'https://elsewhere.example' } })
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('access-control-allow-origin'), null)
  })

  it('[ES2] a missing chunk is a 404 without cache headers', async () => {
    const missing = await fetch(`${server.url}/assets/chunk-gone.js`)
    assert.equal(missing.status, 404)
    assert.equal(missing.headers.get('cache-control'), null)
    assert.equal(missing.headers.get('access-control-allow-origin'), null)
  })
})
