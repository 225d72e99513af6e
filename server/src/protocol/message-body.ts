import * as encoding from 'lib0/encoding'
import type { ServerMessage } from './messages.js'

/**
 * Message types shared by the y-websocket and Hocuspocus protocols. A Hocuspocus frame is a
 * y-websocket frame behind the document name, plus the types y-websocket lacks.
 */
export const MessageType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  syncReply: 4,
  stateless: 5,
  close: 7,
  syncStatus: 8,
  ping: 9,
  pong: 10,
} as const

export const SyncType = { step1: 0, step2: 1, update: 2 } as const

/** Writes `message` after whatever prefix the protocol puts first. */
export function writeMessageBody(encoder: encoding.Encoder, message: ServerMessage): void {
  switch (message.type) {
    case 'sync-step-1':
      encoding.writeVarUint(encoder, MessageType.sync)
      encoding.writeVarUint(encoder, SyncType.step1)
      encoding.writeVarUint8Array(encoder, message.stateVector)
      return
    case 'sync-step-2':
      encoding.writeVarUint(encoder, MessageType.sync)
      encoding.writeVarUint(encoder, SyncType.step2)
      encoding.writeVarUint8Array(encoder, message.update)
      return
    case 'update':
      encoding.writeVarUint(encoder, MessageType.sync)
      encoding.writeVarUint(encoder, SyncType.update)
      encoding.writeVarUint8Array(encoder, message.update)
      return
    case 'awareness':
      encoding.writeVarUint(encoder, MessageType.awareness)
      encoding.writeVarUint8Array(encoder, message.update)
      return
    case 'sync-status':
      encoding.writeVarUint(encoder, MessageType.syncStatus)
      encoding.writeVarUint(encoder, message.applied ? 1 : 0)
      return
    case 'stateless':
      encoding.writeVarUint(encoder, MessageType.stateless)
      encoding.writeVarString(encoder, message.payload)
      return
  }
}
