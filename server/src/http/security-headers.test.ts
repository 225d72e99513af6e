import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryStore } from '@tandem/persistence/memory-store'
import { Hono } from 'hono'
import { JwtAuthenticator } from '../auth/jwt-authenticator.js'
import { startTestServer, temporaryDirectory } from '../test-support/server.js'
import { mintToken, TEST_SECRET } from '../test-support/tokens.js'
import { securityHeaders } from './security-headers.js'

const METRICS_TOKEN = 'metrics-token-for-the-scraper'

/** The CSP's directives by name. */
function directives(response: Response): Map<string, string[]> {
  const policy = response.headers.get('content-security-policy')
  assert.ok(policy, `${response.url} has no Content-Security-Policy`)
  return new Map(policy.split(';').map((part) => {
    const [name, ...values] = part.trim().split(/\s+/)
    return [name!, values]
  }))
}

describe('security headers and /metrics', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let editorDir: Awaited<ReturnType<typeof temporaryDirectory>>

  before(async () => {
    // A stand-in for editor/dist, so the test does not depend on a built editor.
    editorDir = await temporaryDirectory()
    await mkdir(join(editorDir.path, 'assets'))
    await writeFile(join(editorDir.path, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>')
    await writeFile(join(editorDir.path, 'assets', 'app.js'), 'export {}')
    server = await startTestServer({
      store: new MemoryStore(),
      authenticator: new JwtAuthenticator(TEST_SECRET),
      editorDir: editorDir.path,
      metricsToken: METRICS_TOKEN,
    })
  })
  after(async () => {
    await server.stop()
    await editorDir.dispose()
  })

  it('[SEC1] every page, asset, API answer and error carries the CSP, nosniff and no-referrer', async () => {
    const writer = await mintToken({ role: 'write' })
    const requests: Array<[string, RequestInit, number]> = [
      ['/', {}, 200],
      ['/d/notes', {}, 200],
      ['/assets/app.js', {}, 200],
      ['/healthz', {}, 200],
      ['/api/documents/notes', { headers: { authorization: `Bearer ${writer}` } }, 404],
      ['/api/documents/notes', {}, 401],
      ['/no/such/route', {}, 404],
    ]
    const host = new URL(server.url).host
    for (const [path, init, status] of requests) {
      const response = await fetch(`${server.url}${path}`, init)
      assert.equal(response.status, status, path)
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path)
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path)
      assert.equal(response.headers.get('x-frame-options'), 'DENY', path)
      const csp = directives(response)
      assert.deepEqual(csp.get('script-src'), [`'self'`], `${path}: scripts from this origin only`)
      assert.deepEqual(csp.get('style-src'), [`'self'`], `${path}: no inline styles`)
      assert.deepEqual(csp.get('default-src'), [`'self'`], path)
      assert.deepEqual(csp.get('object-src'), [`'none'`], path)
      assert.deepEqual(csp.get('frame-ancestors'), [`'none'`], path)
      assert.deepEqual(csp.get('connect-src'), [`'self'`, `ws://${host}`, `wss://${host}`], path)
    }
  })

  it('[SEC2] FRAME_ANCESTORS lists the origins that may frame the pages', async () => {
    const framed = await startTestServer({
      store: new MemoryStore(),
      editorDir: editorDir.path,
      frameAncestors: ['https://app.example', 'http://localhost:5173'],
    })
    try {
      const response = await fetch(`${framed.url}/d/notes`)
      assert.deepEqual(directives(response).get('frame-ancestors'), ['https://app.example', 'http://localhost:5173'])
      assert.equal(response.headers.get('x-frame-options'), null, 'X-Frame-Options would forbid those origins')
    } finally {
      await framed.stop()
    }
  })

  it('[SEC3] a Host header that is not a host stays out of the policy', async () => {
    const app = new Hono()
    app.use('*', securityHeaders({ frameAncestors: [] }))
    app.get('/', (c) => c.text('ok'))
    const hostile = await app.request('/', { headers: { host: `evil.example; script-src 'unsafe-inline'` } })
    assert.deepEqual(directives(hostile).get('script-src'), [`'self'`])
    assert.deepEqual(directives(hostile).get('connect-src'), [`'self'`])
    const ipv6 = await app.request('/', { headers: { host: '[::1]:1234' } })
    assert.deepEqual(directives(ipv6).get('connect-src'), [`'self'`, 'ws://[::1]:1234', 'wss://[::1]:1234'])
  })

  it('[SEC4] with AUTH_SECRET, /metrics needs METRICS_TOKEN or an admin token for *', async () => {
    const metrics = (token?: string) =>
      fetch(`${server.url}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    const none = await metrics()
    assert.equal(none.status, 401)
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/)
    assert.equal((await metrics('wrong-metrics-token-of-same-size')).status, 401)
    assert.equal((await metrics(`${METRICS_TOKEN}x`)).status, 401)
    assert.equal((await metrics(await mintToken({ role: 'write' }))).status, 403)
    assert.equal((await metrics(await mintToken({ role: 'admin', docs: ['team-*'] }))).status, 403)
    assert.equal((await metrics(await mintToken({ role: 'admin', expiresIn: -10 }))).status, 401)
    const scraped = await metrics(METRICS_TOKEN)
    assert.equal(scraped.status, 200)
    assert.match(await scraped.text(), /tandem_connections/)
    assert.equal((await metrics(await mintToken({ role: 'admin', docs: ['*'] }))).status, 200)
  })

  it('[SEC5] in open mode /metrics stays open', async () => {
    const open = await startTestServer({ store: new MemoryStore(), metricsToken: METRICS_TOKEN })
    try {
      const response = await fetch(`${open.url}/metrics`)
      assert.equal(response.status, 200)
      assert.match(await response.text(), /tandem_connections/)
    } finally {
      await open.stop()
    }
  })
})
