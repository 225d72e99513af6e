import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { BusMessage, InstanceId } from './bus.js'

/**
 * The bytes of one bus message between instances (the grammar is in SPEC.md, RB):
 *
 *     frame     = version:uint8 (1), tag:varUint, sender:varString, body
 *     body      = update | awareness | (nothing, for query-awareness and deleted)
 *     update    = bytes:varUint8Array, hasRevision:uint8 (0 | 1), [revision:varUint]
 *     awareness = bytes:varUint8Array
 */
export const BUS_FRAME_VERSION = 1

const TAG = { 'update': 0, 'awareness': 1, 'query-awareness': 2, 'deleted': 3 } as const

/** A frame that came off the wire, checked. */
export interface DecodedFrame {
  readonly from: InstanceId
  readonly message: BusMessage
}

/** Encodes `message` from `sender` as one frame. */
export function encodeBusFrame(sender: InstanceId, message: BusMessage): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeUint8(encoder, BUS_FRAME_VERSION)
  encoding.writeVarUint(encoder, TAG[message.type])
  encoding.writeVarString(encoder, sender)
  switch (message.type) {
    case 'update':
      encoding.writeVarUint8Array(encoder, message.update)
      if (message.revision === null) {
        encoding.writeUint8(encoder, 0)
      } else {
        encoding.writeUint8(encoder, 1)
        encoding.writeVarUint(encoder, message.revision)
      }
      break
    case 'awareness':
      encoding.writeVarUint8Array(encoder, message.update)
      break
    case 'query-awareness':
    case 'deleted':
      break
  }
  return encoding.toUint8Array(encoder)
}

/** Why a frame was refused. */
export class MalformedFrameError extends Error {
  override readonly name = 'MalformedFrameError'
}

/**
 * Decodes a frame from untrusted bytes. Throws only `MalformedFrameError`. Payloads are
 * copied, so they outlive the transport's buffers.
 */
export function decodeBusFrame(bytes: Uint8Array): DecodedFrame {
  const decoder = decoding.createDecoder(bytes)
  const version = readByte(decoder)
  if (version !== BUS_FRAME_VERSION) throw new MalformedFrameError(`unknown frame version ${version}`)
  const tag = readCount(decoder)
  const sender = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  let from: string
  try {
    from = sender.decode(readBytes(decoder))
  } catch (error) {
    if (error instanceof MalformedFrameError) throw error
    throw new MalformedFrameError('the sender is not UTF-8')
  }
  if (from.length === 0) throw new MalformedFrameError('the sender is empty')
  let message: BusMessage
  switch (tag) {
    case TAG.update: {
      const update = readBytes(decoder).slice()
      const hasRevision = readByte(decoder)
      if (hasRevision > 1) throw new MalformedFrameError(`bad revision flag ${hasRevision}`)
      const revision = hasRevision === 1 ? readCount(decoder) : null
      message = { type: 'update', update, revision }
      break
    }
    case TAG.awareness:
      message = { type: 'awareness', update: readBytes(decoder).slice() }
      break
    case TAG['query-awareness']:
      message = { type: 'query-awareness' }
      break
    case TAG.deleted:
      message = { type: 'deleted' }
      break
    default:
      throw new MalformedFrameError(`unknown message tag ${tag}`)
  }
  if (decoding.hasContent(decoder)) throw new MalformedFrameError('trailing bytes after the message')
  return { from: from as InstanceId, message }
}

function remaining(decoder: decoding.Decoder): number {
  return decoder.arr.length - decoder.pos
}

function readByte(decoder: decoding.Decoder): number {
  if (remaining(decoder) < 1) throw new MalformedFrameError('the frame ends early')
  return decoding.readUint8(decoder)
}

/** A varUint that must be a safe integer and must end inside the frame. */
function readCount(decoder: decoding.Decoder): number {
  let value: number
  try {
    value = decoding.readVarUint(decoder)
  } catch {
    throw new MalformedFrameError('the frame ends inside a number')
  }
  if (decoder.pos > decoder.arr.length) throw new MalformedFrameError('the frame ends inside a number')
  if (!Number.isSafeInteger(value)) throw new MalformedFrameError('a number is out of range')
  return value
}

/**
 * lib0 would read a length past the end of `arr` into whatever shares its ArrayBuffer (a
 * pooled Buffer), so the length is checked first.
 */
function readBytes(decoder: decoding.Decoder): Uint8Array {
  const length = readCount(decoder)
  if (length > remaining(decoder)) throw new MalformedFrameError('a byte string runs past the frame')
  return decoding.readUint8Array(decoder, length)
}
