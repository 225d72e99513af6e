import type { Peer } from '../peer.js'
import type { ServerMessage } from '../protocol/messages.js'

/**
 * The frames of one message by encoder id, made on first use: each protocol's bytes are
 * encoded once however many peers speak it. Null for a protocol without such a message.
 */
export function frameCache(message: ServerMessage): (peer: Peer) => Uint8Array | null {
  let id: string | null = null
  let frame: Uint8Array | null = null
  let others: Map<string, Uint8Array | null> | null = null
  return (peer) => {
    const encoder = peer.encoder
    if (id === null) {
      id = encoder.id
      frame = encoder.encode(message)
    }
    if (encoder.id === id) return frame
    others ??= new Map()
    let other = others.get(encoder.id)
    if (other === undefined) {
      other = encoder.encode(message)
      others.set(encoder.id, other)
    }
    return other
  }
}

/** Sends `message` to every peer but `except`, encoding it once per protocol. */
export function broadcast(peers: Iterable<Peer>, message: ServerMessage, except: Peer | null): void {
  const frameFor = frameCache(message)
  for (const peer of peers) {
    if (peer === except) continue
    const frame = frameFor(peer)
    if (frame !== null) peer.send(frame)
  }
}

/** Sends one message to one peer. */
export function send(peer: Peer, message: ServerMessage): void {
  const frame = peer.encoder.encode(message)
  if (frame !== null) peer.send(frame)
}
