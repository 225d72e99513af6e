import assert from 'node:assert/strict'
import { after, before, describe, it, type TestContext } from 'node:test'
import type { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { MemoryStore } from '@tandem/persistence/memory-store'
import { connectProvider, disconnect, eventually, synced, when } from '../test-support/clients.js'
import { startTestServer } from '../test-support/server.js'

type TestServer = Awaited<ReturnType<typeof startTestServer>>
type ErrorBody = { error: { code: string, message: string } }
type Provider = WebsocketProvider

/** Markdown the lexer under @tiptap/markdown takes tens of seconds on (quadratic in `[a](`). */
const PATHOLOGICAL = '[a]('.repeat(64 * 1024)
const BUDGET_MS = 1000
/** Above PATHOLOGICAL's size. */
const TEXT_CAP = 320 * 1024

function client(server: TestServer) {
  const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api/documents${path}`, init)
  return {
    api,
    put: (name: string, type: string, body: string) =>
      api(`/${name}/content`, { method: 'PUT', headers: { 'content-type': type }, body }),
    get: async (name: string, format: string) => {
      const response = await api(`/${name}/content?format=${format}`)
      assert.equal(response.status, 200, `GET ${name} as ${format}`)
      return response.text()
    },
  }
}

/** Every link target in a document state, as stored: exports would hide what an import kept. */
function storedHrefs(state: Uint8Array): string[] {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  const found: string[] = []
  const visit = (node: Y.XmlElement | Y.XmlFragment | Y.XmlText) => {
    if (node instanceof Y.XmlText) {
      for (const { attributes } of node.toDelta() as Array<{ attributes?: { link?: { href: string } } }>) {
        if (attributes?.link !== undefined) found.push(attributes.link.href)
      }
    } else {
      for (const child of node.toArray()) visit(child as Y.XmlElement | Y.XmlText)
    }
  }
  visit(doc.getXmlFragment('default'))
  return found
}

describe('conversions over HTTP', () => {
  let server: TestServer
  let http: ReturnType<typeof client>

  before(async () => {
    server = await startTestServer({
      store: new MemoryStore(),
      conversionTimeoutMs: BUDGET_MS,
      maxTextContentBytes: TEXT_CAP,
    })
    http = client(server)
    // Loading Tiptap in a worker does not count against the budget; this waits for it.
    assert.equal((await http.put('warm', 'text/markdown', 'warm')).status, 200)
  })
  after(() => server.stop())

  it('[CV1] a pathological Markdown PUT is a 422 within the budget; /healthz and documents answer meanwhile', async (t) => {
    const writer = connectProvider(server.wsUrl, 'elsewhere')
    const observer = connectProvider(server.wsUrl, 'elsewhere')
    try {
      await Promise.all([synced(writer), synced(observer)])
      await pathologicalWhileServing(t, writer, observer)
    } finally {
      disconnect(writer, observer)
    }
  })

  /** The body of CV1, with both clients connected. */
  const pathologicalWhileServing = async (t: TestContext, writer: Provider, observer: Provider) => {
    const started = performance.now()
    let finished = false
    const slow = http.put('slow', 'text/markdown', PATHOLOGICAL).then(async (response) => {
      finished = true
      const ms = performance.now() - started
      return { status: response.status, body: (await response.json()) as ErrorBody, ms }
    })
    const healthz: number[] = []
    const relays: number[] = []
    const text = (provider: typeof writer) => provider.doc.getText('notes').toString()
    while (!finished) {
      let since = performance.now()
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200)
      healthz.push(performance.now() - since)
      since = performance.now()
      writer.doc.getText('notes').insert(0, 'x')
      await when(observer.doc, 'update', () => text(observer) === text(writer), 'the edit was not relayed', 2000)
      relays.push(performance.now() - since)
    }
    const { status, body, ms } = await slow
    const slowest = (times: number[]) => Math.round(Math.max(...times))
    t.diagnostic(`answered in ${Math.round(ms)} ms; meanwhile ${healthz.length} /healthz, slowest ${slowest(healthz)} ms; slowest relay ${slowest(relays)} ms`)
    assert.equal(status, 422)
    assert.equal(body.error.code, 'conversion_timeout')
    assert.ok(ms < BUDGET_MS + 1000, `answered after ${Math.round(ms)} ms`)
    assert.ok(healthz.length >= 3, `only ${healthz.length} /healthz requests ran during the conversion`)
    assert.ok(Math.max(...healthz) < 200, `/healthz took up to ${Math.round(Math.max(...healthz))} ms`)
    assert.ok(Math.max(...relays) < 500, `an edit took up to ${Math.round(Math.max(...relays))} ms to be relayed`)
    assert.equal((await http.api('/slow')).status, 404, 'the refused PUT created the document')
    // The worker that timed out was replaced: the next conversion works.
    assert.equal((await http.put('slow', 'text/markdown', '# fine')).status, 200)
    assert.equal(await http.get('slow', 'text'), 'fine')
  }

  it('[CV6] only http(s), mailto, relative and fragment links survive an import, in every import format', async () => {
    const unsafe = [
      'javascript:alert(1)',
      ' JaVaScRiPt:alert(1)',
      'java\tscript:alert(1)',
      'javascript&colon;alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
    ]
    const safe = ['https://example.com/a', 'http://example.com', 'mailto:someone@example.com', '/docs/page', 'page#part', '#top', '?q=1']
    const all = [...unsafe, ...safe]
    const bodies: Array<[string, string]> = [
      ['text/markdown', all.map((href, i) => `[link ${i}](<${href}>)`).join(' ')],
      ['text/html', `<p>${all.map((href, i) => `<a href="${href.replaceAll('"', '&quot;').replaceAll('<', '&lt;')}">link ${i}</a>`).join(' ')}</p>`],
      ['application/json', JSON.stringify({
        type: 'doc',
        content: [{
          type: 'paragraph',
          content: all.map((href, i) => ({ type: 'text', text: `link ${i} `, marks: [{ type: 'link', attrs: { href } }] })),
        }],
      })],
    ]
    for (const [type, body] of bodies) {
      const response = await http.put('links-in', type, body)
      assert.equal(response.status, 200, `${type}: ${await response.text()}`)
      const stored = storedHrefs(new Uint8Array(await (await http.api('/links-in/content?format=yjs')).arrayBuffer()))
      assert.deepEqual(stored, safe, type)
      const text = await http.get('links-in', 'text')
      for (let i = 0; i < all.length; i++) assert.ok(text.includes(`link ${i}`), `${type} lost the text of link ${i}`)
    }
  })

  it('[CV7] a javascript: link a client wrote is not exported as a link, in any format', async () => {
    const writer = connectProvider(server.wsUrl, 'links-out')
    try {
      await synced(writer)
      await writeAndExportUnsafeLink(writer)
    } finally {
      disconnect(writer)
    }
  })

  /** The body of CV7, with the client connected. */
  const writeAndExportUnsafeLink = async (writer: Provider) => {
    const paragraph = new Y.XmlElement('paragraph')
    const text = new Y.XmlText()
    paragraph.insert(0, [text])
    writer.doc.getXmlFragment('default').insert(0, [paragraph])
    text.insert(0, 'click me', { link: { href: 'javascript:alert(document.cookie)' } })
    text.insert(8, ' or ')
    text.insert(12, 'this', { link: { href: 'https://example.com' } })
    await eventually(async () => (await http.get('links-out', 'text')).includes('this'), 'the edit did not reach the server')
    for (const format of ['json', 'html', 'markdown']) {
      const exported = await http.get('links-out', format)
      assert.ok(!/javascript/i.test(exported), `${format}: ${exported}`)
      assert.ok(exported.includes('click me') && exported.includes('https://example.com'), `${format}: ${exported}`)
    }
  }

  it('[CV8] ill-typed attributes are a 422 naming the attribute; well-typed ones are written', async () => {
    const doc = (node: object) => JSON.stringify({ type: 'doc', content: [node] })
    const heading = (level: unknown) => ({ type: 'heading', attrs: { level }, content: [{ type: 'text', text: 'h' }] })
    const linked = (href: unknown) => ({ type: 'paragraph', content: [{ type: 'text', text: 'l', marks: [{ type: 'link', attrs: { href } }] }] })
    const refused: Array<[object, string]> = [
      [heading('x'), 'heading.level'],
      [heading(99), 'heading.level'],
      [heading(2.5), 'heading.level'],
      [{ type: 'codeBlock', attrs: { language: 5 }, content: [{ type: 'text', text: 'c' }] }, 'codeBlock.language'],
      [linked(3), 'link.href'],
      [{ type: 'orderedList', attrs: { start: '3' }, content: [] }, 'orderedList.start'],
      [{ type: 'heading', attrs: 'level 1', content: [] }, 'attrs of heading'],
    ]
    for (const [node, named] of refused) {
      const response = await http.put('typed', 'application/json', doc(node))
      assert.equal(response.status, 422, JSON.stringify(node))
      const { error } = (await response.json()) as ErrorBody
      assert.equal(error.code, 'invalid_content')
      assert.ok(error.message.includes(named), error.message)
    }
    assert.equal((await http.api('/typed')).status, 404, 'a refused PUT created the document')
    for (const node of [heading(6), { type: 'codeBlock', attrs: { language: null }, content: [] }, linked('#top')]) {
      assert.equal((await http.put('typed', 'application/json', doc(node))).status, 200, JSON.stringify(node))
    }
  })

  it('[CV9] Markdown and HTML bodies past their cap are a 413; JSON is held to the larger body cap', async () => {
    const text = (bytes: number) => 'a'.repeat(bytes)
    assert.equal((await http.put('capped', 'text/markdown', text(TEXT_CAP))).status, 200)
    assert.equal((await http.put('capped', 'text/html', text(TEXT_CAP))).status, 200)
    for (const type of ['text/markdown', 'text/html']) {
      const response = await http.put('capped', type, text(TEXT_CAP + 1))
      assert.equal(response.status, 413, type)
      assert.equal(((await response.json()) as ErrorBody).error.code, 'payload_too_large')
    }
    // Without a Content-Length the cap holds on the bytes read.
    const body = new Blob([text(TEXT_CAP + 1)]).stream()
    const chunked = await http.api('/capped/content', {
      method: 'PUT',
      headers: { 'content-type': 'text/markdown' },
      body,
      duplex: 'half',
    } as RequestInit)
    assert.equal(chunked.status, 413)
    const json = JSON.stringify({ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: text(4 * TEXT_CAP) }] }] })
    assert.equal((await http.put('capped', 'application/json', json)).status, 200)
  })

  it('[CV10] concurrent replacements of one document apply one after the other, never merged', async () => {
    const bodies = ['# First\n\nthe first body', '# Second\n\nthe second body', '# Third\n\nthe third body']
    const responses = await Promise.all(bodies.map((body) => http.put('contended', 'text/markdown', body)))
    assert.deepEqual(responses.map((response) => response.status), [200, 200, 200])
    const text = await http.get('contended', 'text')
    assert.ok(bodies.some((body) => text === body.replace('# ', '')), `the replacements merged: ${text}`)
  })
})

describe('conversions and a busy or stopping server', () => {
  /** A server with one worker and no queue, and that worker loaded. */
  const oneWorker = async (conversionTimeoutMs: number) => {
    const server = await startTestServer({
      store: new MemoryStore(),
      conversionTimeoutMs,
      conversionWorkers: 1,
      maxQueuedConversions: 0,
    })
    const http = client(server)
    const warm = await http.put('warm', 'text/markdown', 'warm')
    if (warm.status !== 200) await server.stop()
    assert.equal(warm.status, 200)
    return { server, http }
  }
  /** Resolves once the worker is busy with the slow PUT: small PUTs are refused from then on. */
  const refusedWhileBusy = async (http: ReturnType<typeof client>) => {
    let refused: Response | null = null
    await eventually(async () => {
      const response = await http.put('small', 'text/markdown', 'small')
      if (response.status !== 503) return false
      refused = response
      return true
    }, 'the slow conversion did not start')
    return refused! as Response
  }

  it('[CV11] past the queue bound a conversion is a 503 with Retry-After; /healthz still answers', async () => {
    const { server, http } = await oneWorker(BUDGET_MS)
    try {
      const running = http.put('slow', 'text/markdown', PATHOLOGICAL)
      const refused = await refusedWhileBusy(http)
      assert.equal(refused.headers.get('retry-after'), '1')
      assert.equal(((await refused.json()) as ErrorBody).error.code, 'conversion_busy')
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200)
      assert.equal((await running).status, 422)
    } finally {
      await server.stop()
    }
  })

  it('[CV12] stop() does not wait for a conversion: it is stopped with its worker', async () => {
    const { server, http } = await oneWorker(60_000)
    const slow = http.put('slow', 'text/markdown', PATHOLOGICAL).then(
      (response) => response.status,
      () => 'closed',
    )
    await refusedWhileBusy(http)
    const started = performance.now()
    await server.stop()
    assert.ok(performance.now() - started < 2000, `stop() took ${Math.round(performance.now() - started)} ms`)
    assert.ok(['closed', 503].includes(await slow), `the PUT was answered ${await slow}`)
    // A worker still converting would burn a core: this process would use about 500 ms of CPU.
    const cpu = process.cpuUsage()
    await new Promise((resolve) => setTimeout(resolve, 500))
    const { user, system } = process.cpuUsage(cpu)
    assert.ok(user + system < 150_000, `the process used ${Math.round((user + system) / 1000)} ms of CPU in 500 ms after stop()`)
  })
})
