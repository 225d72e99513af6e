import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MemoryStore } from '@tandem/persistence/memory-store'
import * as Y from 'yjs'
import { JwtAuthenticator } from '../auth/jwt-authenticator.js'
import { CloseCode } from '../close-codes.js'
import { closed, connectProvider, disconnect, eventually, openRawSocket, synced, when } from '../test-support/clients.js'
import { startTestServer } from '../test-support/server.js'
import { mintToken, TEST_SECRET } from '../test-support/tokens.js'

/**
 * A document with every node and mark of the schema, every attribute written out (the
 * schema's defaults included), so what comes back from any format must equal it exactly.
 */
const EVERYTHING = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Title' }] },
    { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Section' }] },
    { type: 'heading', attrs: { level: 3 }, content: [{ type: 'text', text: 'Sub' }] },
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'plain ' },
        { type: 'text', text: 'bold', marks: [{ type: 'bold' }] },
        { type: 'text', text: ' ' },
        { type: 'text', text: 'italic', marks: [{ type: 'italic' }] },
        { type: 'text', text: ' ' },
        { type: 'text', text: 'struck', marks: [{ type: 'strike' }] },
        { type: 'text', text: ' ' },
        { type: 'text', text: 'code', marks: [{ type: 'code' }] },
        { type: 'text', text: ' ' },
        {
          type: 'text',
          text: 'link',
          marks: [{
            type: 'link',
            attrs: { href: 'https://example.com', target: '_blank', rel: 'noopener noreferrer nofollow', class: null, title: null },
          }],
        },
        { type: 'text', text: ' ' },
        { type: 'text', text: 'under', marks: [{ type: 'underline' }] },
        { type: 'hardBreak' },
        { type: 'text', text: 'after a break' },
      ],
    },
    { type: 'bulletList', content: [item('one'), item('two')] },
    { type: 'orderedList', attrs: { start: 3, type: null }, content: [item('third'), item('fourth')] },
    { type: 'blockquote', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'quoted' }] }] },
    { type: 'codeBlock', attrs: { language: 'html' }, content: [{ type: 'text', text: 'if (a < b && c) { "<tag>" }' }] },
    { type: 'horizontalRule' },
    { type: 'paragraph', content: [{ type: 'text', text: 'the end' }] },
  ],
}

function item(text: string) {
  return { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] }
}

describe('the HTTP document API', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let admin: string
  let writer: string
  let reader: string
  const api = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${init.token ?? admin}`)
    return fetch(`${server.url}/api/documents${path}`, { ...init, headers })
  }
  const put = (name: string, type: string, body: string | Uint8Array, token?: string) =>
    api(`/${encodeURIComponent(name)}/content`, { method: 'PUT', headers: { 'content-type': type }, body, token })
  const get = async (name: string, format: string) => {
    const response = await api(`/${encodeURIComponent(name)}/content?format=${format}`)
    assert.equal(response.status, 200, `GET ${name} as ${format}`)
    return response
  }
  const json = async (name: string) => (await get(name, 'json')).json()
  /** Creates `name` holding EVERYTHING, for the tests that need rich content. */
  const everything = async (name: string) => {
    assert.equal((await put(name, 'application/json', JSON.stringify(EVERYTHING))).status, 200)
  }

  before(async () => {
    server = await startTestServer({
      store: new MemoryStore(),
      authenticator: new JwtAuthenticator(TEST_SECRET),
      maxMessageBytes: 16 * 1024 * 1024,
    })
    admin = await mintToken({ role: 'admin', sub: 'admin' })
    writer = await mintToken({ role: 'write', sub: 'wendy' })
    reader = await mintToken({ role: 'read', sub: 'rita' })
  })
  after(() => server.stop())

  it('[API1] every node and mark survives every format', async () => {
    await everything('everything')
    assert.deepEqual(await json('everything'), EVERYTHING, 'the JSON import lost something')
    for (const [format, type] of [['html', 'text/html'], ['markdown', 'text/markdown'], ['yjs', 'application/octet-stream']]) {
      const exported = new Uint8Array(await (await get('everything', format!)).arrayBuffer())
      assert.equal((await put(`everything-${format}`, type!, exported)).status, 200)
      assert.deepEqual(await json(`everything-${format}`), EVERYTHING, `${format} lost something`)
    }
    const text = await (await get('everything', 'text')).text()
    const blocks = ['Title', 'Section', 'Sub', 'plain bold italic struck code link under\nafter a break']
    assert.equal(text, [...blocks, 'one', 'two', 'third', 'fourth', 'quoted', 'if (a < b && c) { "<tag>" }', 'the end'].join('\n\n'))
  })

  it('[API2] Markdown export, import, export is stable; HTML escapes what it must', async () => {
    await everything('escaped')
    const markdown = await (await get('escaped', 'markdown')).text()
    await put('markdown-again', 'text/markdown', markdown)
    assert.equal(await (await get('markdown-again', 'markdown')).text(), markdown)
    const html = await (await get('escaped', 'html')).text()
    assert.ok(html.includes('if (a &lt; b &amp;&amp; c) { &quot;&lt;tag&gt;&quot; }') || html.includes('if (a &lt; b &amp;&amp; c) { "&lt;tag&gt;" }'), html)
    assert.ok(!html.includes('<tag>'))
    const response = await api('/escaped/content', { headers: { accept: 'text/markdown' } })
    assert.equal(response.headers.get('content-type'), 'text/markdown; charset=utf-8')
    assert.equal((await get('escaped', 'html')).headers.get('content-type'), 'text/html; charset=utf-8')
  })

  it('[API3] a connected client sees a PUT live, and its caret survives', async () => {
    await put('live', 'text/markdown', 'First paragraph.\n\nSecond paragraph.')
    const token = await mintToken({ role: 'write' })
    const client = connectProvider(server.wsUrl, 'live', undefined, token)
    await synced(client)
    const fragment = client.doc.getXmlFragment('default')
    const second = (fragment.get(1) as Y.XmlElement).get(0) as Y.XmlText
    const caret = Y.createRelativePositionFromTypeIndex(second, 7)
    await put('live', 'text/markdown', 'First paragraph, rewritten by a backend.\n\nSecond paragraph.')
    await when(client.doc, 'update', () => fragment.toString().includes('rewritten by a backend'), 'the PUT was not seen live')
    const resolved = Y.createAbsolutePositionFromRelativePosition(caret, client.doc)
    assert.ok(resolved !== null && resolved.type === second && resolved.index === 7, 'the caret moved')
    disconnect(client)
  })

  it('[API4] versions: take one, change, restore; a connected client converges to it', async () => {
    await put('versioned', 'text/markdown', '# Plan\n\nThe original plan.')
    const taken = await api('/versioned/versions', { method: 'POST', body: JSON.stringify({ label: 'approved' }), token: writer })
    assert.equal(taken.status, 201)
    const version = (await taken.json()) as { id: string, label: string, author: string }
    assert.equal(version.label, 'approved')
    assert.equal(version.author, 'wendy')
    const client = connectProvider(server.wsUrl, 'versioned', undefined, writer)
    await synced(client)
    client.doc.getXmlFragment('default').insert(2, [new Y.XmlElement('paragraph')])
    await put('versioned', 'text/markdown', '# Plan\n\nA different plan.', writer)
    const listed = (await (await api('/versioned/versions', { token: reader })).json()) as { versions: Array<{ id: string, label: string | null }> }
    assert.deepEqual(listed.versions.map((v) => v.label).slice(0, 2), ['before replace', 'approved'])
    const old = await (await api(`/versioned/versions/${version.id}/content?format=markdown`, { token: reader })).text()
    assert.equal(old, '# Plan\n\nThe original plan.')

    const restored = await api(`/versioned/versions/${version.id}/restore`, { method: 'POST', token: writer })
    assert.equal(restored.status, 200)
    assert.equal(await (await get('versioned', 'markdown')).text(), '# Plan\n\nThe original plan.')
    const expected = JSON.stringify(await json('versioned'))
    const clientJson = () => client.doc.getXmlFragment('default').toString()
    await when(client.doc, 'update', () => clientJson().includes('The original plan.') && !clientJson().includes('different'), 'client did not converge')
    assert.equal(server.registry.loaded('versioned')!.doc.getXmlFragment('default').toString(), clientJson())
    assert.ok(expected.includes('The original plan.'))
    const after = (await (await api('/versioned/versions')).json()) as { versions: Array<{ label: string | null }> }
    assert.equal(after.versions[0]!.label, 'before restore')
    disconnect(client)
  })

  it('[API5] a version is taken on its own once the interval has passed since the last', async () => {
    let time = 0
    const clocked = await startTestServer({
      store: new MemoryStore(),
      versionIntervalMs: 1000,
      now: () => time,
    })
    const writer = connectProvider(clocked.wsUrl, 'busy')
    const observer = connectProvider(clocked.wsUrl, 'busy')
    await Promise.all([synced(writer), synced(observer)])
    const content = (client: typeof writer) => client.doc.getText('text').toString()
    const edit = async (at: number, text: string) => {
      time = at
      writer.doc.getText('text').insert(0, text)
      // An edit is relayed once stored, after the room decided whether it is due a version.
      await when(observer.doc, 'update', () => content(observer) === content(writer), 'the edit was not relayed')
    }
    const automatic = async () => {
      const response = await fetch(`${clocked.url}/api/documents/busy/versions`)
      const { versions } = (await response.json()) as { versions: Array<{ author: string | null }> }
      return versions.filter((version) => version.author === null).length
    }
    await edit(0, 'a ')
    await edit(999, 'b ')
    assert.equal(await automatic(), 0, 'a version before the interval passed')
    await edit(1000, 'c ')
    assert.equal(await automatic(), 1, 'no version when the interval passed')
    await edit(1999, 'd ')
    assert.equal(await automatic(), 1, 'the interval did not restart at the version')
    await edit(2000, 'e ')
    assert.equal(await automatic(), 2, 'no second version')
    disconnect(writer, observer)
    await clocked.stop()
  })

  it('[API6] create with content, 201 and Location; 409 when it exists; generated names', async () => {
    const created = await api('?name=from-markdown', { method: 'POST', headers: { 'content-type': 'text/markdown' }, body: '# Hello\n\nFrom curl.', token: writer })
    assert.equal(created.status, 201)
    assert.equal(created.headers.get('location'), '/api/documents/from-markdown')
    assert.deepEqual(await created.json(), { name: 'from-markdown' })
    assert.equal(await (await get('from-markdown', 'text')).text(), 'Hello\n\nFrom curl.')
    const again = await api('?name=from-markdown', { method: 'POST', token: writer })
    assert.equal(again.status, 409)
    const unnamed = await api('', { method: 'POST', token: writer })
    assert.equal(unnamed.status, 201)
    const { name } = (await unnamed.json()) as { name: string }
    assert.match(name, /^doc-/)
    assert.equal((await api(`/${name}`)).status, 200)
    const scoped = await mintToken({ role: 'write', docs: ['team-*'] })
    assert.equal((await api('', { method: 'POST', token: scoped })).status, 403)
    const listing = (await (await api('')).json()) as { documents: Array<{ name: string }> }
    assert.ok(listing.documents.some((doc) => doc.name === 'from-markdown'))
  })

  it('[API7] every error status, each with a JSON error', async () => {
    await everything('errors')
    const cases: Array<[string, Promise<Response>, number]> = [
      ['bad name', api('/.hidden/content'), 400],
      ['unknown format', api('/errors/content?format=pdf'), 400],
      ['bad label', api('/errors/versions', { method: 'POST', body: '{"label": 5}' }), 400],
      ['label not JSON', api('/errors/versions', { method: 'POST', body: 'label' }), 400],
      ['no token', fetch(`${server.url}/api/documents/errors`), 401],
      ['read token writes', put('errors', 'text/markdown', '# no', reader), 403],
      ['write token deletes', api('/errors', { method: 'DELETE', token: writer }), 403],
      ['missing document', api('/never-made/content'), 404],
      ['missing document versions', api('/never-made/versions'), 404],
      ['missing version', api('/errors/versions/nope/content'), 404],
      ['missing version restore', api('/errors/versions/nope/restore', { method: 'POST' }), 404],
      ['exists', api('?name=errors', { method: 'POST' }), 409],
      ['too large', put('huge', 'text/markdown', 'x'.repeat(16 * 1024 * 1024 + 1)), 413],
      ['other type', put('errors', 'image/png', 'png'), 415],
      ['not the schema', put('errors', 'application/json', '{"type":"doc","content":[{"type":"table"}]}'), 422],
      ['not a doc', put('errors', 'application/json', '{"type":"paragraph"}'), 422],
      ['JSON that is not', put('errors', 'application/json', '{"type":'), 422],
      ['not a Yjs update', put('errors', 'application/octet-stream', new Uint8Array([1, 2, 3])), 422],
      ['no route', api('/errors/nowhere'), 404],
    ]
    for (const [what, request, status] of cases) {
      const response = await request
      assert.equal(response.status, status, what)
      const body = (await response.json()) as { error: { code: string, message: string } }
      assert.ok(typeof body.error.code === 'string' && body.error.message.length > 0, what)
    }
    assert.deepEqual(await json('errors'), EVERYTHING, 'a refused request changed the document')
  })

  it('[API8] delete removes the document and its versions and closes its connections with 4404', async () => {
    await put('doomed', 'text/markdown', 'Soon gone.')
    await api('/doomed/versions', { method: 'POST' })
    const token = await mintToken({ role: 'write' })
    const socket = await openRawSocket(`${server.wsUrl}/doomed?token=${token}`)
    await eventually(() => (server.registry.loaded('doomed')?.peerCount ?? 0) > 0, 'not connected')
    const closing = closed(socket)
    assert.equal((await api('/doomed', { method: 'DELETE' })).status, 204)
    assert.equal((await closing).code, CloseCode.documentDeleted)
    assert.equal((await api('/doomed')).status, 404)
    assert.equal((await api('/doomed/versions')).status, 404)
    assert.equal((await api('/doomed', { method: 'DELETE' })).status, 404)
  })

  it('[API9] a document over 5 MB exports in every format', async () => {
    const doc = new Y.Doc()
    const fragment = doc.getXmlFragment('default')
    const line = 'All work and no play makes a long document. '.repeat(25)
    const paragraphs = Array.from({ length: 5200 }, (_, index) => {
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText(`${index} ${line}`)])
      return paragraph
    })
    fragment.insert(0, paragraphs)
    const update = Y.encodeStateAsUpdate(doc)
    assert.ok(update.byteLength > 5 * 1024 * 1024)
    assert.equal((await put('large', 'application/octet-stream', update)).status, 200)
    for (const format of ['json', 'html', 'markdown', 'text', 'yjs']) {
      const body = await (await get('large', format)).arrayBuffer()
      assert.ok(body.byteLength > 5 * 1024 * 1024, `${format}: ${body.byteLength} bytes`)
    }
  })
})
