import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Writable } from 'node:stream'
import * as ws from 'ws'
import { binaryFrame } from './websocket-frame.js'

// ws's own frame parser, which ws exports but its type definitions leave out.
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean }) => Writable
}

/** What a ws client makes of the bytes: the messages it would emit. */
function receive(bytes: Buffer): Buffer[] {
  const messages: Buffer[] = []
  const receiver = new Receiver({ isServer: false })
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    assert.equal(isBinary, true)
    messages.push(data)
  })
  receiver.write(bytes)
  return messages
}

test('frames of every length class arrive whole as binary messages', () => {
  for (const length of [0, 125, 126, 65_535, 65_536, 200_000]) {
    const message = Uint8Array.from({ length }, (_, index) => index % 251)
    assert.deepEqual(receive(binaryFrame(message)), [Buffer.from(message)], `length ${length}`)
  }
})

test('a large message is framed once even with other frames sent in between', () => {
  const state = new Uint8Array(100_000).fill(7)
  const first = binaryFrame(state)
  binaryFrame(new Uint8Array([1, 2, 3]))
  assert.equal(binaryFrame(state), first)
})

test('a small message sent again after another one is framed again, with its own bytes', () => {
  const a = new Uint8Array([1])
  const b = new Uint8Array([2])
  const frameA = binaryFrame(a)
  assert.deepEqual(receive(binaryFrame(b)), [Buffer.from([2])])
  assert.deepEqual(receive(binaryFrame(a)), [Buffer.from([1])])
  assert.equal(frameA.length, 3)
})
