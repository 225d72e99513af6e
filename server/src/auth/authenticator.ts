import type { Principal } from './principal.js'

/** Turns a token (or its absence) into a principal, or throws AuthenticationError. */
export interface Authenticator {
  /** Whether tokens are checked at all; false in open mode. */
  readonly required: boolean
  authenticate(token: string | null): Promise<Principal>
}
