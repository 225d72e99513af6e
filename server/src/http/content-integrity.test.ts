import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { CloseCode } from '../close-codes.js'
import { closed, connectProvider, disconnect, eventually, openRawSocket, synced } from '../test-support/clients.js'
import { startTestServer } from '../test-support/server.js'

/** What an editor with more extensions than this server's schema writes: a table. */
function writeUnknownTable(doc: Y.Doc): void {
  const fragment = doc.getXmlFragment('default')
  const paragraph = (text: string) => {
    const element = new Y.XmlElement('paragraph')
    element.insert(0, [new Y.XmlText(text)])
    return element
  }
  const table = new Y.XmlElement('table')
  const row = new Y.XmlElement('tableRow')
  const cell = new Y.XmlElement('tableCell')
  cell.insert(0, [paragraph('in a cell')])
  row.insert(0, [cell])
  table.insert(0, [row])
  fragment.insert(0, [paragraph('before'), table, paragraph('after')])
}

const hasTable = (doc: Y.Doc) => doc.getXmlFragment('default').toArray().some((node) => (node as Y.XmlElement).nodeName === 'table')

function nested(depth: number): object {
  let node: object = { type: 'paragraph', content: [{ type: 'text', text: 'deep' }] }
  for (let i = 0; i < depth; i++) node = { type: 'blockquote', content: [node] }
  return { type: 'doc', content: [node] }
}

describe('content integrity over HTTP', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api/documents${path}`, init)

  before(async () => {
    server = await startTestServer()
  })
  after(() => server.stop())

  it('[CT1] exports and version exports leave the live document as it was, unknown elements included', async () => {
    const writer = connectProvider(server.wsUrl, 'newer-editor')
    await synced(writer)
    writeUnknownTable(writer.doc)
    await eventually(async () => (await api('/newer-editor')).status === 200, 'the document was not stored')
    const version = await api('/newer-editor/versions', { method: 'POST' })
    assert.equal(version.status, 201)
    const { id } = (await version.json()) as { id: string }
    for (const path of ['/newer-editor/content', `/newer-editor/versions/${id}/content`]) {
      for (const format of ['json', 'html', 'markdown', 'text']) {
        const response = await api(`${path}?format=${format}`)
        assert.equal(response.status, 200, `${path} as ${format}`)
        const body = await response.text()
        assert.ok(body.includes('before') && body.includes('after'), `${format} lost the known content: ${body}`)
      }
    }
    const state = new Uint8Array(await (await api('/newer-editor/content?format=yjs')).arrayBuffer())
    const exported = new Y.Doc()
    Y.applyUpdate(exported, state)
    assert.ok(hasTable(exported), 'the server\'s document lost the table')
    const joiner = connectProvider(server.wsUrl, 'newer-editor')
    await synced(joiner)
    assert.ok(hasTable(joiner.doc), 'a joiner did not get the table')
    assert.ok(hasTable(writer.doc))
    disconnect(writer, joiner)
  })

  it('[CT2] content nested too deep is refused with 422, and changes nothing anywhere', async () => {
    const writer = connectProvider(server.wsUrl, 'deep')
    await synced(writer)
    const put = (type: string, body: string) =>
      api('/deep/content', { method: 'PUT', headers: { 'content-type': type }, body })
    assert.equal((await put('text/markdown', 'the original')).status, 200)
    await eventually(() => writer.doc.getXmlFragment('default').toString().includes('the original'), 'no live change')
    const original = await (await api('/deep/content?format=json')).text()
    const bodies: Array<[string, string]> = [
      ['application/json', JSON.stringify(nested(1000))],
      ['text/html', `${'<blockquote>'.repeat(1000)}<p>deep</p>${'</blockquote>'.repeat(1000)}`],
      ['text/markdown', `${'> '.repeat(1000)}deep`],
    ]
    for (const [type, body] of bodies) {
      const response = await put(type, body)
      assert.equal(response.status, 422, `${type}: ${response.status}`)
      const error = (await response.json()) as { error: { code: string, message: string } }
      assert.equal(error.error.code, 'invalid_content')
    }
    assert.equal(await (await api('/deep/content?format=json')).text(), original)
    const joiner = connectProvider(server.wsUrl, 'deep')
    await synced(joiner)
    for (const doc of [writer.doc, joiner.doc]) {
      const text = doc.getXmlFragment('default').toString()
      assert.ok(text.includes('the original') && !text.includes('deep'), text)
    }
    const { versions } = (await (await api('/deep/versions')).json()) as { versions: unknown[] }
    assert.equal(versions.length, 0, 'a refused PUT saved a version')
    disconnect(writer, joiner)
  })

  it('[CT3] content as deep as the limit is written whole', async () => {
    const response = await api('/deep-enough/content', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(nested(97)),
    })
    assert.equal(response.status, 200)
    const exported = (await (await api('/deep-enough/content?format=json')).json()) as object
    assert.deepEqual(exported, nested(97))
  })

  it('[CT4] an update nesting elements 20,000 deep is refused on the socket (1002) and over HTTP (422); exports keep working', async () => {
    const put = (type: string, body: string | Uint8Array) =>
      api('/deep-update/content', { method: 'PUT', headers: { 'content-type': type }, body })
    assert.equal((await put('text/markdown', 'still exportable')).status, 200)
    const deep = new Y.Doc()
    // One transaction: outside one, each insert walks every level above it.
    deep.transact(() => {
      let parent: Y.XmlFragment | Y.XmlElement = deep.getXmlFragment('default')
      for (let i = 0; i < 20_000; i++) {
        const child = new Y.XmlElement('blockquote')
        parent.insert(0, [child])
        parent = child
      }
    })
    const update = Y.encodeStateAsUpdate(deep)
    const response = await put('application/octet-stream', update)
    assert.equal(response.status, 422)
    const socket = await openRawSocket(`${server.wsUrl}/deep-update`)
    const closing = closed(socket)
    socket.send(encodeYWebsocketUpdate(update))
    assert.equal((await closing).code, CloseCode.protocolError)
    for (const format of ['html', 'markdown', 'json']) {
      const exported = await api(`/deep-update/content?format=${format}`)
      assert.equal(exported.status, 200, format)
      assert.ok((await exported.text()).includes('still exportable'), format)
    }
  })
})

/** A y-websocket sync update frame. */
function encodeYWebsocketUpdate(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 2)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}
