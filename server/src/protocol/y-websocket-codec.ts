import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CloseCode } from '../close-codes.js'
import type { ClientMessage, Encoder, ServerMessage } from './messages.js'
import { ProtocolError } from './messages.js'
import { checkStateVector, checkUpdate, readAwarenessUpdate } from './yjs-payloads.js'

// The y-websocket protocol (PROTOCOL.md): one document per socket, each frame
// `varUint(messageType) payload`.
const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const
const SyncType = { step1: 0, step2: 1, update: 2 } as const

/** Decodes one binary frame from a y-websocket client. Throws ProtocolError when malformed. */
export function decodeYWebsocketFrame(frame: Uint8Array): ClientMessage {
  try {
    return readFrame(decoding.createDecoder(frame))
  } catch (error) {
    if (error instanceof ProtocolError) throw error
    throw new ProtocolError(`malformed frame: ${(error as Error).message}`, CloseCode.protocolError)
  }
}

function readFrame(decoder: decoding.Decoder): ClientMessage {
  const messageType = decoding.readVarUint(decoder)
  switch (messageType) {
    case MessageType.sync: {
      const syncType = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (syncType === SyncType.step1) {
        return { type: 'sync-step-1', stateVector: checkStateVector(payload) }
      }
      if (syncType === SyncType.step2 || syncType === SyncType.update) {
        return { type: 'update', update: checkUpdate(payload) }
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

/** Encodes room messages as y-websocket frames. */
export const yWebsocketEncoder: Encoder = {
  encode(message: ServerMessage): Uint8Array {
    const encoder = encoding.createEncoder()
    switch (message.type) {
      case 'sync-step-1':
        encoding.writeVarUint(encoder, MessageType.sync)
        encoding.writeVarUint(encoder, SyncType.step1)
        encoding.writeVarUint8Array(encoder, message.stateVector)
        break
      case 'sync-step-2':
        encoding.writeVarUint(encoder, MessageType.sync)
        encoding.writeVarUint(encoder, SyncType.step2)
        encoding.writeVarUint8Array(encoder, message.update)
        break
      case 'update':
        encoding.writeVarUint(encoder, MessageType.sync)
        encoding.writeVarUint(encoder, SyncType.update)
        encoding.writeVarUint8Array(encoder, message.update)
        break
      case 'awareness':
        encoding.writeVarUint(encoder, MessageType.awareness)
        encoding.writeVarUint8Array(encoder, message.update)
        break
    }
    return encoding.toUint8Array(encoder)
  },
}
