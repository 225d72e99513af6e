import type { Authenticator } from './authenticator.js'
import type { Principal } from './principal.js'

const EVERYONE: Principal = {
  user: 'anonymous',
  name: 'Anonymous',
  presenceName: null,
  documents: ['*'],
  role: 'write',
  expiresAt: null,
}

/** Open mode (no AUTH_SECRET): everyone may write every document; tokens are ignored. */
export class OpenAuthenticator implements Authenticator {
  readonly required = false

  async authenticate(): Promise<Principal> {
    return EVERYONE
  }
}
