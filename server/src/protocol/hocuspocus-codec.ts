import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CloseCode } from '../close-codes.js'
import { MessageType, writeMessageBody } from './message-body.js'
import type { ClientMessage, Encoder, ServerMessage } from './messages.js'
import { ProtocolError } from './messages.js'
import { asProtocolError, readClientMessage } from './y-websocket-codec.js'

// The Hocuspocus protocol (PROTOCOL.md): many documents per socket, each frame
// `varString(documentKey) varUint(messageType) payload`, plus key-less ping and pong.

/** Messages that concern the socket's sessions rather than a document's content. */
export type HocuspocusClientMessage =
  | ClientMessage
  | { readonly type: 'auth', readonly token: string }
  | { readonly type: 'close' }

export type HocuspocusFrame =
  | { readonly kind: 'pong' }
  | { readonly kind: 'ping' }
  | { readonly kind: 'document', readonly key: string, readonly message: HocuspocusClientMessage }

const AuthType = { token: 0, permissionDenied: 1, authenticated: 2 } as const

/** Decodes one binary frame from a Hocuspocus provider. Throws ProtocolError when malformed. */
export function decodeHocuspocusFrame(frame: Uint8Array): HocuspocusFrame {
  if (frame.byteLength === 1 && frame[0] === MessageType.pong) return { kind: 'pong' }
  if (frame.byteLength === 1 && frame[0] === MessageType.ping) return { kind: 'ping' }
  try {
    const decoder = decoding.createDecoder(frame)
    const key = decoding.readVarString(decoder)
    return { kind: 'document', key, message: readMessage(decoder) }
  } catch (error) {
    throw asProtocolError(error)
  }
}

function readMessage(decoder: decoding.Decoder): HocuspocusClientMessage {
  const messageType = decoding.readVarUint(decoder)
  switch (messageType) {
    case MessageType.auth: {
      const authType = decoding.readVarUint(decoder)
      if (authType !== AuthType.token) {
        throw new ProtocolError(`unexpected auth message type ${authType}`, CloseCode.protocolError)
      }
      // The provider's version string may follow; it changes nothing here.
      return { type: 'auth', token: decoding.readVarString(decoder) }
    }
    case MessageType.stateless:
      return { type: 'stateless', payload: decoding.readVarString(decoder) }
    case MessageType.close:
      return { type: 'close' }
    case MessageType.syncReply:
      return readClientMessage(decoder, MessageType.sync)
    default:
      return readClientMessage(decoder, messageType)
  }
}

/** Encodes room messages for one document key of a Hocuspocus socket. */
export class HocuspocusEncoder implements Encoder {
  readonly id: string

  constructor(readonly key: string) {
    this.id = `hocuspocus:${key}`
  }

  encode(message: ServerMessage): Uint8Array {
    const encoder = this.#start()
    writeMessageBody(encoder, message)
    return encoding.toUint8Array(encoder)
  }

  /** The Authenticated reply, with the scope the provider exposes as `authorizedScope`. */
  authenticated(scope: 'read-write' | 'readonly'): Uint8Array {
    return this.#auth(AuthType.authenticated, scope)
  }

  /** The PermissionDenied reply: the provider's `onAuthenticationFailed` gets `reason`. */
  permissionDenied(reason: string): Uint8Array {
    return this.#auth(AuthType.permissionDenied, reason)
  }

  /** Tells the provider this document is closed; the socket stays open for the others. */
  closeDocument(reason: string): Uint8Array {
    const encoder = this.#start()
    encoding.writeVarUint(encoder, MessageType.close)
    encoding.writeVarString(encoder, reason)
    return encoding.toUint8Array(encoder)
  }

  #auth(authType: number, text: string): Uint8Array {
    const encoder = this.#start()
    encoding.writeVarUint(encoder, MessageType.auth)
    encoding.writeVarUint(encoder, authType)
    encoding.writeVarString(encoder, text)
    return encoding.toUint8Array(encoder)
  }

  #start(): encoding.Encoder {
    const encoder = encoding.createEncoder()
    encoding.writeVarString(encoder, this.key)
    return encoder
  }
}

/** The key-less application ping; providers answer with a pong. */
export const PING_FRAME = new Uint8Array([MessageType.ping])
/** The key-less application pong, the answer to a provider's ping. */
export const PONG_FRAME = new Uint8Array([MessageType.pong])
