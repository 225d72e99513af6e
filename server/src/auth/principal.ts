/** What a token may do, weakest first. */
export const roles = ['read', 'write', 'admin'] as const
export type Role = (typeof roles)[number]

/** Who is connecting and what they may open, as established from a token. */
export interface Principal {
  /** The token's `sub`. */
  readonly user: string
  /** The token's `name` (else `sub`), for logs and versions. */
  readonly name: string
  /**
   * The name the server shows in this client's presence (awareness `user.name`), whatever
   * the client sends: the token's `name`, else its `sub`. Null when the token names nobody
   * (open mode, share links): the client's own `user.name` passes through.
   */
  readonly presenceName: string | null
  /** Document names and `*` globs the principal may open. */
  readonly documents: readonly string[]
  readonly role: Role
  /** When the token stops being valid; null when it has no `exp`. */
  readonly expiresAt: Date | null
}

/** The token was missing, malformed, wrongly signed or expired: 401, close 4401. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AuthenticationError'
  }
}
