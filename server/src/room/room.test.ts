import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import * as Y from 'yjs'
import { CloseCode } from '../close-codes.js'
import { Metrics } from '../metrics.js'
import { readAwarenessUpdate, writeAwarenessUpdate } from '../protocol/yjs-payloads.js'
import { ProtocolError } from '../protocol/messages.js'
import { MAX_TYPE_DEPTH } from '../protocol/update-shape.js'
import { MemoryHub } from '../bus/memory-bus.js'
import { Room } from './room.js'
import { ControlledStore } from '../test-support/controlled-store.js'
import { MemoryPeer } from '../test-support/memory-peer.js'

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))
const settle = async () => {
  for (let i = 0; i < 5; i++) await nextTurn()
}

function createRoom(store = new ControlledStore(), state: Uint8Array | null = null, now?: () => number) {
  const events = { empty: 0, failed: 0 }
  const room = new Room('room-test', { state, revision: null }, {
    store,
    bus: new MemoryHub().bus(),
    now,
    logger: pino({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
    onEmpty: () => events.empty++,
    onFailed: () => events.failed++,
  })
  return { room, store, events }
}

/** A peer whose socket throws when written to, once `broken` is set. */
class ThrowingPeer extends MemoryPeer {
  broken = false

  override send(frame: Uint8Array): void {
    if (this.broken) throw new Error('socket exploded')
    super.send(frame)
  }
}

function edit(text: string, doc = new Y.Doc()): Uint8Array {
  const before = Y.encodeStateVector(doc)
  doc.getText('text').insert(0, text)
  return Y.encodeStateAsUpdate(doc, before)
}

function textOf(updates: Uint8Array[]): string {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getText('text').toString()
}

describe('Room', () => {
  it('[RM1] a joiner is sent sync step 1 and, on its step 1, the whole document', async () => {
    const source = new Y.Doc()
    source.getText('text').insert(0, 'stored')
    const { room } = createRoom(undefined, Y.encodeStateAsUpdate(source))
    const peer = new MemoryPeer()
    room.join(peer)
    assert.equal(peer.received[0]?.type, 'sync-step-1')
    room.receive(peer, { type: 'sync-step-1', stateVector: new Uint8Array([0]) })
    const [reply] = peer.ofType('sync-step-2')
    assert.ok(reply)
    assert.equal(textOf([reply.update]), 'stored')
  })

  it('[RM9] joiners with nothing share one encoded full state until the document changes', async () => {
    const source = new Y.Doc()
    source.getText('text').insert(0, 'big document')
    const { room } = createRoom(undefined, Y.encodeStateAsUpdate(source))
    const joiners = [new MemoryPeer(), new MemoryPeer(), new MemoryPeer()]
    for (const peer of joiners.slice(0, 2)) {
      room.join(peer)
      room.receive(peer, { type: 'sync-step-1', stateVector: new Uint8Array([0]) })
    }
    const [first, second] = joiners.map((peer) => peer.frames.at(-1))
    assert.equal(first, second, 'the full state should be encoded once and shared')
    room.receive(joiners[0]!, { type: 'update', update: edit('more ') })
    await settle()
    room.join(joiners[2]!)
    room.receive(joiners[2]!, { type: 'sync-step-1', stateVector: new Uint8Array([0]) })
    await settle()
    assert.notEqual(joiners[2]!.frames.at(-1), first)
    assert.equal(textOf([joiners[2]!.ofType('sync-step-2')[0]!.update]).length, 'more big document'.length)
  })

  it('[RM2] an update is relayed only after the store has it', async () => {
    const { room, store } = createRoom()
    const [writer, reader] = [new MemoryPeer(), new MemoryPeer()]
    room.join(writer)
    room.join(reader)
    store.holdAppends = true
    room.receive(writer, { type: 'update', update: edit('durable first') })
    await settle()
    assert.equal(reader.ofType('update').length, 0, 'relayed before the write resolved')
    assert.equal(store.heldCount, 1)
    store.release()
    await settle()
    assert.equal(textOf(reader.ofType('update').map((m) => m.update)), 'durable first')
    assert.equal(writer.ofType('update').length, 0, 'the sender got its own update back')
  })

  it('[RM3] updates of one turn are one store write and one relayed frame, the same bytes for all', async () => {
    const { room, store } = createRoom()
    const writer = new MemoryPeer()
    const readers = [new MemoryPeer(), new MemoryPeer()]
    for (const peer of [writer, ...readers]) room.join(peer)
    const doc = new Y.Doc()
    for (const word of ['one ', 'two ', 'three ']) {
      room.receive(writer, { type: 'update', update: edit(word, doc) })
    }
    await settle()
    assert.equal(store.appended.length, 1)
    const [first, second] = readers.map((reader) => reader.frames.at(-1))
    assert.equal(first, second, 'each reader should be sent the same encoded frame')
    assert.equal(textOf(readers[0]!.ofType('update').map((m) => m.update)), 'three two one ')
  })

  it('[RM4] with several writers in one turn, each gets the others\' updates and not its own', async () => {
    const { room } = createRoom()
    const [ada, bob, carol] = [new MemoryPeer(), new MemoryPeer(), new MemoryPeer()]
    for (const peer of [ada, bob, carol]) room.join(peer)
    room.receive(ada, { type: 'update', update: edit('A') })
    room.receive(bob, { type: 'update', update: edit('B') })
    await settle()
    assert.equal(textOf(ada.ofType('update').map((m) => m.update)), 'B')
    assert.equal(textOf(bob.ofType('update').map((m) => m.update)), 'A')
    assert.equal(textOf(carol.ofType('update').map((m) => m.update)).length, 2)
  })

  it('[RM5] a sync reply waits for the write of everything it contains', async () => {
    const { room, store } = createRoom()
    const [writer, joiner] = [new MemoryPeer(), new MemoryPeer()]
    room.join(writer)
    store.holdAppends = true
    room.receive(writer, { type: 'update', update: edit('not yet stored') })
    await settle()
    room.join(joiner)
    room.receive(joiner, { type: 'sync-step-1', stateVector: new Uint8Array([0]) })
    await settle()
    assert.equal(joiner.ofType('sync-step-2').length, 0, 'replied with content not yet stored')
    store.release()
    await settle()
    assert.equal(textOf(joiner.ofType('sync-step-2').map((m) => m.update)), 'not yet stored')
  })

  it('[RM6] a failed store write closes every peer with 1011 and reports the failure', async () => {
    const { room, store, events } = createRoom()
    const [writer, reader] = [new MemoryPeer(), new MemoryPeer()]
    room.join(writer)
    room.join(reader)
    store.failAppends = true
    room.receive(writer, { type: 'update', update: edit('lost') })
    await settle()
    assert.equal(writer.closedWith?.code, CloseCode.internalError)
    assert.equal(reader.closedWith?.code, CloseCode.internalError)
    assert.equal(reader.ofType('update').length, 0)
    assert.equal(events.failed, 1)
    await assert.rejects(room.flush())
  })

  it('[RM7] awareness is relayed, answered on query, and removed when its peer leaves', async () => {
    const { room, events } = createRoom()
    const [ada, bob] = [new MemoryPeer(), new MemoryPeer()]
    room.join(ada)
    room.join(bob)
    const update = writeAwarenessUpdate([{ clientId: 7, clock: 1, state: '{"name":"Ada"}' }])
    room.receive(ada, { type: 'awareness', update, entries: readAwarenessUpdate(update) })
    assert.deepEqual(readAwarenessUpdate(bob.ofType('awareness')[0]!.update), [
      { clientId: 7, clock: 1, state: '{"name":"Ada"}' },
    ])
    room.receive(bob, { type: 'query-awareness' })
    assert.equal(readAwarenessUpdate(bob.ofType('awareness')[1]!.update)[0]?.clientId, 7)

    const late = new MemoryPeer()
    room.join(late)
    assert.equal(readAwarenessUpdate(late.ofType('awareness')[0]!.update)[0]?.clientId, 7)

    room.leave(ada)
    assert.deepEqual(readAwarenessUpdate(bob.ofType('awareness').at(-1)!.update), [
      { clientId: 7, clock: 2, state: null },
    ])
    room.leave(bob)
    room.leave(late)
    assert.equal(events.empty, 1)
  })

  it('[RM8] an outdated awareness state is not relayed', () => {
    const { room } = createRoom()
    const [ada, bob] = [new MemoryPeer(), new MemoryPeer()]
    room.join(ada)
    room.join(bob)
    const newer = writeAwarenessUpdate([{ clientId: 7, clock: 5, state: '{}' }])
    const older = writeAwarenessUpdate([{ clientId: 7, clock: 4, state: '{"old":true}' }])
    room.receive(ada, { type: 'awareness', update: newer, entries: readAwarenessUpdate(newer) })
    room.receive(ada, { type: 'awareness', update: older, entries: readAwarenessUpdate(older) })
    assert.equal(bob.ofType('awareness').length, 1)
  })

  it('[RM11] an error while relaying a stored write closes that document with 1011, not the process', async () => {
    const { room, events } = createRoom()
    const [writer, broken] = [new MemoryPeer(), new ThrowingPeer()]
    room.join(writer)
    room.join(broken)
    broken.broken = true
    room.receive(writer, { type: 'update', update: edit('stored') })
    await settle()
    assert.equal(writer.closedWith?.code, CloseCode.internalError)
    assert.equal(broken.closedWith?.code, CloseCode.internalError)
    assert.equal(events.failed, 1)
    await assert.rejects(room.flush())
  })

  it('[RM12] a read-only peer: what the document has is never counted against it; one that keeps sending new content is closed', () => {
    const { room } = createRoom()
    const [writer, reader] = [new MemoryPeer(), new MemoryPeer()]
    reader.canWrite = false
    room.join(writer)
    room.join(reader)
    const known = edit('known')
    room.receive(writer, { type: 'update', update: known })
    const theirs = new Y.Doc()
    Y.applyUpdate(theirs, known)
    theirs.getText('text').delete(0, 2)
    room.receive(writer, { type: 'update', update: Y.encodeStateAsUpdate(theirs) })
    // Sync step 2 of a reader that has what the document has, as often as it reconnects.
    for (let i = 0; i < 50; i++) {
      room.receive(reader, { type: 'update', update: i % 2 === 0 ? known : Y.encodeStateAsUpdate(room.doc) })
    }
    for (let i = 1; i < 20; i++) room.receive(reader, { type: 'update', update: edit(`no ${i}`, theirs) })
    assert.throws(
      () => room.receive(reader, { type: 'update', update: edit('still no', theirs) }),
      (error: ProtocolError) => error.code === CloseCode.policyViolation,
    )
    assert.equal(room.doc.getText('text').toString(), 'own')
  })

  it('[RM13] an update nesting elements deeper than the conversions hold is refused before it is applied', async () => {
    const { room, store } = createRoom()
    const writer = new MemoryPeer()
    room.join(writer)
    const nested = (depth: number) => {
      const doc = new Y.Doc()
      doc.transact(() => {
        let parent: Y.XmlFragment | Y.XmlElement = doc.getXmlFragment('default')
        for (let i = 0; i < depth; i++) {
          const child = new Y.XmlElement('blockquote')
          parent.insert(0, [child])
          parent = child
        }
      })
      return Y.encodeStateAsUpdate(doc)
    }
    assert.throws(() => room.receive(writer, { type: 'update', update: nested(20_000) }), (error: ProtocolError) => error.code === CloseCode.protocolError)
    assert.throws(() => room.receive(writer, { type: 'update', update: nested(MAX_TYPE_DEPTH + 1) }), ProtocolError)
    assert.equal(room.doc.getXmlFragment('default').length, 0)
    room.receive(writer, { type: 'update', update: nested(MAX_TYPE_DEPTH) })
    await room.flush()
    assert.equal(room.doc.getXmlFragment('default').length, 1)
    assert.equal(store.appended.length, 1)
  })

  it('[RM14] presence nobody renews for 30 s is removed for everyone; renewed presence stays', () => {
    let time = 0
    const { room } = createRoom(new ControlledStore(), null, () => time)
    const [ada, bob] = [new MemoryPeer(), new MemoryPeer()]
    room.join(ada)
    room.join(bob)
    const say = (peer: MemoryPeer, clientId: number, clock: number) => {
      const update = writeAwarenessUpdate([{ clientId, clock, state: '{}' }])
      room.receive(peer, { type: 'awareness', update, entries: readAwarenessUpdate(update) })
    }
    say(ada, 1, 1)
    say(bob, 2, 1)
    time += 15_000
    say(bob, 2, 2)
    time += 15_000
    room.expirePresence()
    const removal = readAwarenessUpdate(bob.ofType('awareness').at(-1)!.update)
    assert.deepEqual(removal, [{ clientId: 1, clock: 2, state: null }])
    const late = new MemoryPeer()
    room.join(late)
    assert.deepEqual(readAwarenessUpdate(late.ofType('awareness')[0]!.update).map((entry) => entry.clientId), [2])
  })
})
