import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as prng from 'lib0/prng'
import type { BusMessage, InstanceId } from './bus.js'
import { decodeBusFrame, encodeBusFrame, MalformedFrameError } from './bus-codec.js'

const SEED = Number(process.env.SEED ?? 20261201)
const SENDER = 'f3a1c9e0-instance' as InstanceId

const MESSAGES: BusMessage[] = [
  { type: 'update', update: Uint8Array.of(1, 2, 3), revision: 2 ** 52 },
  { type: 'update', update: new Uint8Array(0), revision: null },
  { type: 'awareness', update: Uint8Array.of(9, 8, 7, 6) },
  { type: 'query-awareness' },
  { type: 'deleted' },
]

describe('the bus frame codec', () => {
  it('[RB8] frames round-trip; every truncated, extended or random frame is refused with MalformedFrameError only', () => {
    for (const message of MESSAGES) {
      const frame = encodeBusFrame(SENDER, message)
      const decoded = decodeBusFrame(frame)
      assert.equal(decoded.from, SENDER)
      assert.deepEqual(decoded.message, message)
      for (let length = 0; length < frame.length; length++) refused(frame.subarray(0, length), `${message.type} cut at ${length}`)
      refused(Uint8Array.of(...frame, 0), `${message.type} with a trailing byte`)
    }
    // The frame sits inside a larger buffer, as pooled Buffers do: a length running past the
    // frame must be refused, not read from the bytes behind it.
    const pool = new Uint8Array(64).fill(7)
    pool.set([1, 1, 1, 65, 40], 0)
    refused(pool.subarray(0, 5), 'a length past the end of a pooled frame')
    const random = prng.create(SEED)
    for (let index = 0; index < 5000; index++) {
      const bytes = prng.uint8Array(random, prng.uint32(random, 0, 40))
      try {
        decodeBusFrame(bytes)
      } catch (error) {
        assert.ok(error instanceof MalformedFrameError, `seed ${SEED}, case ${index}: ${String(error)}`)
      }
    }
  })
})

function refused(bytes: Uint8Array, what: string): void {
  assert.throws(() => decodeBusFrame(bytes), MalformedFrameError, what)
}
