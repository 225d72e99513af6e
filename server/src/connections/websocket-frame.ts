import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'

// Frames the server sends are never masked, so the bytes of one frame are the same for
// every client: built once per message, written to each socket as they are. This skips
// ws's per-send framing (an options object, a header buffer, cork, two writes, uncork),
// which is most of what a fan-out to hundreds of sockets costs.
//
// A broadcast sends one message to every socket in a row, so remembering the last message
// framed finds it every time but the first. (A WeakMap for every message did the same, and
// its ephemeron write barriers cost more than the framing: 2.5% of the server's CPU with
// presence.) Large messages, such as a whole state sent to joiners one by one between other
// frames, are kept by message as well, so they are copied into a frame once.
const LARGE_MESSAGE_BYTES = 64 * 1024
const largeFrames = new WeakMap<Uint8Array, Buffer>()
let lastMessage: Uint8Array | null = null
let lastFrame: Buffer = Buffer.alloc(0)

/** The complete WebSocket frame (FIN, binary, unmasked) around a message. */
export function binaryFrame(message: Uint8Array): Buffer {
  if (message === lastMessage) return lastFrame
  const large = message.byteLength >= LARGE_MESSAGE_BYTES
  let frame = large ? largeFrames.get(message) : undefined
  if (frame === undefined) {
    frame = frameAround(message)
    if (large) largeFrames.set(message, frame)
  }
  lastMessage = message
  lastFrame = frame
  return frame
}

function frameAround(message: Uint8Array): Buffer {
  const length = message.byteLength
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(headerLength + length)
  frame[0] = 0x82
  if (length < 126) {
    frame[1] = length
  } else if (length < 65_536) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  frame.set(message, headerLength)
  return frame
}

/**
 * The TCP socket under a ws WebSocket, or null if this ws version hides it. Writing whole
 * frames to it is safe while the WebSocket is open: ws itself writes whole frames, and
 * Tandem turns off compression and fragmentation, so nothing is ever half-written.
 */
export function rawSocket(socket: WebSocket): Duplex | null {
  const raw = (socket as unknown as { _socket?: Duplex })._socket
  return raw !== undefined && typeof raw.write === 'function' ? raw : null
}
