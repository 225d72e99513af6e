import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import * as Y from 'yjs'
import { ProtocolError } from './messages.js'
import { decodeYWebsocketFrame, yWebsocketEncoder } from './y-websocket-codec.js'
import { writeAwarenessUpdate } from './yjs-payloads.js'

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000)

function frame(...parts: Array<number | Uint8Array | string>): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const part of parts) {
    if (typeof part === 'number') encoding.writeVarUint(encoder, part)
    else if (typeof part === 'string') encoding.writeVarString(encoder, part)
    else encoding.writeVarUint8Array(encoder, part)
  }
  return encoding.toUint8Array(encoder)
}

describe('y-websocket codec', () => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, 'hello')
  const update = Y.encodeStateAsUpdate(doc)
  const stateVector = Y.encodeStateVector(doc)

  it('[YC1] decodes what y-websocket clients send', () => {
    assert.deepEqual(decodeYWebsocketFrame(frame(0, 0, stateVector)), {
      type: 'sync-step-1',
      stateVector,
    })
    const decoded = Y.decodeUpdate(update)
    assert.deepEqual(decodeYWebsocketFrame(frame(0, 1, update)), { type: 'update', update, decoded })
    assert.deepEqual(decodeYWebsocketFrame(frame(0, 2, update)), { type: 'update', update, decoded })
    assert.deepEqual(decodeYWebsocketFrame(frame(3)), { type: 'query-awareness' })
    const awareness = writeAwarenessUpdate([
      { clientId: 1, clock: 2, state: '{"user":{"name":"Ada"}}' },
      { clientId: 3, clock: 4, state: null },
    ])
    assert.deepEqual(decodeYWebsocketFrame(frame(1, awareness)), {
      type: 'awareness',
      update: awareness,
      entries: [
        { clientId: 1, clock: 2, state: '{"user":{"name":"Ada"}}' },
        { clientId: 3, clock: 4, state: null },
      ],
    })
  })

  it('[YC2] encodes the frames y-websocket clients expect', () => {
    assert.deepEqual(
      yWebsocketEncoder.encode({ type: 'sync-step-1', stateVector }),
      frame(0, 0, stateVector),
    )
    assert.deepEqual(yWebsocketEncoder.encode({ type: 'sync-step-2', update }), frame(0, 1, update))
    assert.deepEqual(yWebsocketEncoder.encode({ type: 'update', update }), frame(0, 2, update))
    assert.deepEqual(
      yWebsocketEncoder.encode({ type: 'awareness', update: new Uint8Array([0]) }),
      frame(1, new Uint8Array([0])),
    )
  })

  it(`[YC3] random bytes only ever raise a ProtocolError (seed ${SEED})`, () => {
    const gen = prng.create(SEED)
    for (let i = 0; i < 5000; i++) {
      const bytes = prng.uint8Array(gen, prng.uint32(gen, 0, 40))
      if (i % 3 === 0) bytes[0] = prng.uint32(gen, 0, 3)
      try {
        decodeYWebsocketFrame(bytes)
      } catch (error) {
        assert.ok(error instanceof ProtocolError, `seed ${SEED}, frame ${bytes}: ${error}`)
      }
    }
  })
})
