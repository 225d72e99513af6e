import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { CloseCode } from '../close-codes.js'
import type { AwarenessEntry } from './messages.js'
import { ProtocolError } from './messages.js'
import type { DecodedUpdate } from './update-shape.js'

// Payload checks shared by every protocol: what a Yjs update, a state vector and an
// awareness update must be before a room touches them.

/** Throws a ProtocolError unless `update` decodes as a Yjs update. */
export function checkUpdate(update: Uint8Array): Uint8Array {
  decodeUpdate(update)
  return update
}

/** The decoded update, or a ProtocolError when it does not decode. */
export function decodeUpdate(update: Uint8Array): DecodedUpdate {
  try {
    return Y.decodeUpdate(update)
  } catch (error) {
    throw new ProtocolError(
      `invalid Yjs update: ${(error as Error).message}`,
      CloseCode.protocolError,
    )
  }
}

/** Throws a ProtocolError unless `stateVector` decodes as a Yjs state vector. */
export function checkStateVector(stateVector: Uint8Array): Uint8Array {
  try {
    Y.decodeStateVector(stateVector)
  } catch (error) {
    throw new ProtocolError(
      `invalid state vector: ${(error as Error).message}`,
      CloseCode.protocolError,
    )
  }
  return stateVector
}

/** Reads an awareness update (y-protocols/awareness) and checks every state is JSON. */
export function readAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update)
  const count = decoding.readVarUint(decoder)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder)
    const clock = decoding.readVarUint(decoder)
    const text = decoding.readVarString(decoder)
    try {
      JSON.parse(text)
    } catch {
      throw new ProtocolError('awareness state is not JSON', CloseCode.protocolError)
    }
    entries.push({ clientId, clock, state: text === 'null' ? null : text })
  }
  return entries
}

/** Encodes awareness entries as one awareness update. */
export function writeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId)
    encoding.writeVarUint(encoder, entry.clock)
    encoding.writeVarString(encoder, entry.state ?? 'null')
  }
  return encoding.toUint8Array(encoder)
}
