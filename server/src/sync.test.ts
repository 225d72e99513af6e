import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import * as prng from 'lib0/prng'
import type { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { connectProvider, converged, disconnect, synced, when } from './test-support/clients.js'
import { startTestServer, temporaryDirectory } from './test-support/server.js'

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000)

/** One random edit to the text and the `default` fragment, as an editor would make. */
function randomEdit(gen: prng.PRNG, doc: Y.Doc): void {
  const text = doc.getText('text')
  const fragment = doc.getXmlFragment('default')
  doc.transact(() => {
    if (text.length > 0 && prng.bool(gen) && prng.bool(gen)) {
      const index = prng.uint32(gen, 0, text.length - 1)
      text.delete(index, Math.min(prng.uint32(gen, 1, 5), text.length - index))
    } else {
      text.insert(prng.uint32(gen, 0, text.length), prng.word(gen, 1, 8))
    }
    if (fragment.length === 0 || prng.uint32(gen, 0, 5) === 0) {
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText(prng.word(gen, 1, 6))])
      fragment.insert(prng.uint32(gen, 0, fragment.length), [paragraph])
    } else {
      const paragraph = fragment.get(prng.uint32(gen, 0, fragment.length - 1)) as Y.XmlElement
      const inner = paragraph.get(0) as Y.XmlText
      inner.insert(
        prng.uint32(gen, 0, inner.length),
        prng.word(gen, 1, 4),
        prng.bool(gen) ? { bold: true } : {},
      )
    }
  })
}

function content(doc: Y.Doc): string {
  return `${doc.getText('text').toString()}|${doc.getXmlFragment('default').toString()}`
}

describe('sync over the y-websocket protocol', () => {
  const providers: WebsocketProvider[] = []
  const connect = (url: string, name: string, doc?: Y.Doc) => {
    const provider = connectProvider(url, name, doc)
    providers.push(provider)
    return provider
  }
  after(() => {
    disconnect(...providers)
  })

  it(`[SY1] three clients editing at once converge (seed ${SEED})`, async () => {
    const server = await startTestServer()
    const gen = prng.create(SEED)
    const clients = [0, 1, 2].map(() => connect(server.wsUrl, 'converge'))
    await Promise.all(clients.map((client) => synced(client)))
    for (let round = 0; round < 60; round++) {
      for (const client of clients) randomEdit(gen, client.doc)
      if (round % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await converged(clients.map((client) => client.doc))
    const expected = content(clients[0]!.doc)
    for (const client of clients) assert.equal(content(client.doc), expected, `seed ${SEED}`)
    assert.equal(content(server.registry.loaded('converge')!.doc), expected, `seed ${SEED}`)

    const late = connect(server.wsUrl, 'converge')
    await synced(late)
    assert.equal(content(late.doc), expected, `[SY2] a late joiner gets everything (seed ${SEED})`)
    disconnect(...clients, late)
    await server.stop()
  })

  it('[SY3] presence appears for others and disappears when its client leaves', async () => {
    const server = await startTestServer()
    const ada = connect(server.wsUrl, 'presence')
    const bob = connect(server.wsUrl, 'presence')
    await Promise.all([synced(ada), synced(bob)])
    ada.awareness.setLocalStateField('user', { name: 'Ada' })
    const adaId = ada.awareness.clientID
    await when(
      bob.awareness,
      'change',
      () => bob.awareness.getStates().has(adaId),
      'Ada never appeared',
    )
    assert.deepEqual(bob.awareness.getStates().get(adaId), { user: { name: 'Ada' } })

    const carol = connect(server.wsUrl, 'presence')
    await synced(carol)
    await when(
      carol.awareness,
      'change',
      () => carol.awareness.getStates().has(adaId),
      'a joiner did not get current presence',
    )

    disconnect(ada)
    await when(
      bob.awareness,
      'change',
      () => !bob.awareness.getStates().has(adaId),
      'Ada never left',
    )
    await when(
      carol.awareness,
      'change',
      () => !carol.awareness.getStates().has(adaId),
      'Ada never left for Carol',
    )
    disconnect(bob)
    disconnect(carol)
    await server.stop()
  })

  it('[SY4] a restart on the same data directory keeps every document', async () => {
    const dataDir = await temporaryDirectory()
    const first = await startTestServer({ dataDir: dataDir.path })
    const writer = connect(first.wsUrl, 'kept')
    await synced(writer)
    writer.doc.getText('text').insert(0, 'written before the restart')
    const other = connect(first.wsUrl, 'kept-too')
    await synced(other)
    other.doc.getXmlFragment('default').insert(0, [new Y.XmlElement('paragraph')])
    const observer = connect(first.wsUrl, 'kept')
    await when(
      observer.doc,
      'update',
      () => observer.doc.getText('text').length > 0,
      'edit not relayed',
    )
    disconnect(writer, other, observer)
    await first.stop()

    const second = await startTestServer({ dataDir: dataDir.path })
    const reader = connect(second.wsUrl, 'kept')
    const otherReader = connect(second.wsUrl, 'kept-too')
    await Promise.all([synced(reader), synced(otherReader)])
    assert.equal(reader.doc.getText('text').toString(), 'written before the restart')
    assert.equal(otherReader.doc.getXmlFragment('default').length, 1)
    disconnect(reader)
    disconnect(otherReader)
    await second.stop()
    await dataDir.dispose()
  })
})
