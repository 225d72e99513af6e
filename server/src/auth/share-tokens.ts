import { SignJWT } from 'jose'
import type { Principal, Role } from './principal.js'

/** Roles a share link may grant: never admin, so a link can never delete or administer. */
export const shareRoles = ['read', 'write'] as const satisfies readonly Role[]
export type ShareRole = (typeof shareRoles)[number]

/** A share token's `sub` is this and the sharer's `sub`. */
const SHARE_SUBJECT_PREFIX = 'share:'

/** Whether a token's `sub` is a share link's, which names nobody (see ShareTokens). */
export function isShareSubject(sub: string): boolean {
  return sub.startsWith(SHARE_SUBJECT_PREFIX)
}

/** How long a share link lives when the request does not say. */
export const DEFAULT_SHARE_SECONDS = 7 * 24 * 60 * 60
/** The longest a share link may live. */
export const MAX_SHARE_SECONDS = 90 * 24 * 60 * 60

export interface ShareRequest {
  /** The checked document name; the token opens it and nothing else. */
  readonly document: string
  readonly role: ShareRole
  /** Who shares: recorded in the token's `sub`, and its expiry bounds the link's. */
  readonly sharer: Principal
  /** Seconds from now, at most MAX_SHARE_SECONDS. */
  readonly expiresInSeconds: number
}

export interface ShareToken {
  readonly token: string
  readonly expiresAt: Date
}

/**
 * Mints the tokens of share links, signed with AUTH_SECRET like every other token.
 *
 * A share token never grants more than the sharer's token: one document (`docs` is exactly
 * that name, never a glob), a role no higher than the sharer's and no higher than `write`,
 * and a life that ends no later than the sharer's token. It impersonates nobody: `sub` is
 * `share:<sharer's sub>` (so versions and logs say whose link was used) and it has no `name`,
 * so whoever opens the link picks their own display name.
 */
export class ShareTokens {
  readonly #key: Uint8Array
  readonly #now: () => number

  constructor(secret: string, now: () => number = Date.now) {
    this.#key = new TextEncoder().encode(secret)
    this.#now = now
  }

  async mint({ document, role, sharer, expiresInSeconds }: ShareRequest): Promise<ShareToken> {
    const now = this.#now()
    const requested = now + Math.min(expiresInSeconds, MAX_SHARE_SECONDS) * 1000
    const until = sharer.expiresAt === null ? requested : Math.min(requested, sharer.expiresAt.getTime())
    const exp = Math.floor(until / 1000)
    const token = await new SignJWT({ docs: [document], role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(`${SHARE_SUBJECT_PREFIX}${sharer.user}`)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(this.#key)
    return { token, expiresAt: new Date(exp * 1000) }
  }
}
