import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/** Which client protocol a load client speaks. */
export type Protocol = 'y-websocket' | 'hocuspocus'

/** Frames a client sends, for one document, in either protocol. */
export class Frames {
  constructor(
    private readonly protocol: Protocol,
    private readonly document: string,
  ) {}

  /** What a client sends first: (auth and) sync step 1 with an empty state. */
  hello(): Uint8Array[] {
    const step1 = this.#frame((encoder) => {
      encoding.writeVarUint(encoder, 0)
      encoding.writeVarUint(encoder, 0)
      encoding.writeVarUint8Array(encoder, new Uint8Array([0]))
    })
    if (this.protocol === 'y-websocket') return [step1]
    const auth = this.#frame((encoder) => {
      encoding.writeVarUint(encoder, 2)
      encoding.writeVarUint(encoder, 0)
      encoding.writeVarString(encoder, '')
      encoding.writeVarString(encoder, 'bench')
    })
    return [auth, step1]
  }

  update(update: Uint8Array): Uint8Array {
    return this.#frame((encoder) => {
      encoding.writeVarUint(encoder, 0)
      encoding.writeVarUint(encoder, 2)
      encoding.writeVarUint8Array(encoder, update)
    })
  }

  awareness(clientId: number, clock: number, state: string): Uint8Array {
    return this.#frame((encoder) => {
      encoding.writeVarUint(encoder, 1)
      const inner = encoding.createEncoder()
      encoding.writeVarUint(inner, 1)
      encoding.writeVarUint(inner, clientId)
      encoding.writeVarUint(inner, clock)
      encoding.writeVarString(inner, state)
      encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner))
    })
  }

  /** Whether a received frame is sync step 2 (the answer that completes the first sync). */
  isSyncStep2(frame: Uint8Array): boolean {
    return this.#readSync(frame)?.kind === 1
  }

  /** The Yjs update a received sync step 2 or update frame carries, or null for other frames. */
  contentOf(frame: Uint8Array): Uint8Array | null {
    const sync = this.#readSync(frame)
    return sync === null || sync.kind === 0 ? null : sync.payload()
  }

  #readSync(frame: Uint8Array): { kind: number, payload(): Uint8Array } | null {
    try {
      const decoder = decoding.createDecoder(frame)
      if (this.protocol === 'hocuspocus') {
        if (frame.length === 1) return null
        decoding.readVarString(decoder)
      }
      if (decoding.readVarUint(decoder) !== 0) return null
      return { kind: decoding.readVarUint(decoder), payload: () => decoding.readVarUint8Array(decoder) }
    } catch {
      return null
    }
  }

  #frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
    const encoder = encoding.createEncoder()
    if (this.protocol === 'hocuspocus') encoding.writeVarString(encoder, this.document)
    write(encoder)
    return encoding.toUint8Array(encoder)
  }
}
