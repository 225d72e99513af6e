import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CloseCode } from '../close-codes.js'
import { MessageType, SyncType, writeMessageBody } from './message-body.js'
import type { ClientMessage, Encoder, ServerMessage } from './messages.js'
import { ProtocolError } from './messages.js'
import { checkStateVector, decodeUpdate, readAwarenessUpdate } from './yjs-payloads.js'

// The y-websocket protocol (PROTOCOL.md): one document per socket, each frame
// `varUint(messageType) payload`.

/** Decodes one binary frame from a y-websocket client. Throws ProtocolError when malformed. */
export function decodeYWebsocketFrame(frame: Uint8Array): ClientMessage {
  try {
    const decoder = decoding.createDecoder(frame)
    return readClientMessage(decoder, decoding.readVarUint(decoder))
  } catch (error) {
    throw asProtocolError(error)
  }
}

/** Reads the payload of a client message of a type both protocols share. */
export function readClientMessage(decoder: decoding.Decoder, messageType: number): ClientMessage {
  switch (messageType) {
    case MessageType.sync: {
      const syncType = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (syncType === SyncType.step1) {
        return { type: 'sync-step-1', stateVector: checkStateVector(payload) }
      }
      if (syncType === SyncType.step2 || syncType === SyncType.update) {
        return { type: 'update', update: payload, decoded: decodeUpdate(payload) }
      }
      throw new ProtocolError(`unknown sync message type ${syncType}`, CloseCode.protocolError)
    }
    case MessageType.awareness: {
      const update = decoding.readVarUint8Array(decoder)
      return { type: 'awareness', update, entries: readAwarenessUpdate(update) }
    }
    case MessageType.queryAwareness:
      return { type: 'query-awareness' }
    default:
      throw new ProtocolError(`unknown message type ${messageType}`, CloseCode.protocolError)
  }
}

/** Any decoding failure as the ProtocolError that closes the socket with 1002. */
export function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error
  return new ProtocolError(`malformed frame: ${(error as Error).message}`, CloseCode.protocolError)
}

/** Encodes room messages as y-websocket frames. */
export const yWebsocketEncoder: Encoder = {
  id: 'y-websocket',
  encode(message: ServerMessage): Uint8Array | null {
    // Acknowledgements and stateless messages are not part of the y-websocket protocol; this
    // runs for every update a client sends, so decide before allocating anything.
    if (message.type === 'sync-status' || message.type === 'stateless') return null
    const encoder = encoding.createEncoder()
    writeMessageBody(encoder, message)
    return encoding.toUint8Array(encoder)
  },
}
