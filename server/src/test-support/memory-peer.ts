import * as decoding from 'lib0/decoding'
import type { Peer } from '../peer.js'
import type { ServerMessage } from '../protocol/messages.js'
import { yWebsocketEncoder } from '../protocol/y-websocket-codec.js'

/**
 * A peer without a socket: unit tests drive a room directly and read exactly the frames
 * each peer would have been sent, decoded back into messages.
 */
export class MemoryPeer implements Peer {
  readonly encoder = yWebsocketEncoder
  canWrite = true
  presenceName: string | null = null
  readonly frames: Uint8Array[] = []
  closedWith: { code: number, reason: string } | null = null

  send(frame: Uint8Array): void {
    if (this.closedWith === null) this.frames.push(frame)
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason }
  }

  get received(): ServerMessage[] {
    return this.frames.map(decodeServerFrame)
  }

  /** Messages received of one type. */
  ofType<T extends ServerMessage['type']>(type: T): Array<ServerMessage & { type: T }> {
    return this.received.filter(
      (message): message is ServerMessage & { type: T } => message.type === type,
    )
  }
}

function decodeServerFrame(frame: Uint8Array): ServerMessage {
  const decoder = decoding.createDecoder(frame)
  if (decoding.readVarUint(decoder) === 1) {
    return { type: 'awareness', update: decoding.readVarUint8Array(decoder) }
  }
  const syncType = decoding.readVarUint(decoder)
  const payload = decoding.readVarUint8Array(decoder)
  if (syncType === 0) return { type: 'sync-step-1', stateVector: payload }
  return { type: syncType === 1 ? 'sync-step-2' : 'update', update: payload }
}
