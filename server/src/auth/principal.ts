/** What a token may do, weakest first. */
export const roles = ['read', 'write', 'admin'] as const
export type Role = (typeof roles)[number]

/** Who is connecting and what they may open, as established from a token. */
export interface Principal {
  /** The token's `sub`. */
  readonly user: string
  /** The token's `name`, for presence and logs. */
  readonly name: string
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
