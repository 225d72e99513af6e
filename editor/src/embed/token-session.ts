import { fetchToken, renewalDelay, tokenExpiry, type TokenProvider, type TokenReason } from './token-source.js'

/** Where an element's tokens come from, read afresh each time (the page may change them). */
export interface TokenSources {
  readonly document: string
  readonly token: string | null
  readonly tokenUrl: string | null
  readonly tokenProvider: TokenProvider | null
}

/** What the token session tells its element. */
export interface TokenSessionEvents {
  /** A new token is ready before the current one expires: present it on the live connection. */
  renewed(): void
  /** No token could be had (the provider threw, token-url failed). */
  failed(message: string): void
}

/**
 * The tokens of one open document: the page's `token`, or ones asked of `tokenProvider` or
 * `token-url` on connect, once after a refusal, and 30 s before the current one expires.
 */
export class TokenSession {
  #current: string | null = null
  #presented: string | null = null
  #unavailable = false
  #reason: TokenReason = 'connect'
  #retried = false
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly sources: () => TokenSources,
    private readonly events: TokenSessionEvents,
  ) {}

  /** Whether a refused token can be replaced by asking the page again. */
  get renewable(): boolean {
    const { tokenProvider, tokenUrl } = this.sources()
    return tokenProvider !== null || tokenUrl !== null
  }

  /** The token presented last (null before the first). */
  get presented(): string | null {
    return this.#presented
  }

  /**
   * Whether the last attempt to get a token failed (reported through `failed`): the provider
   * then reports an authentication failure the server never made.
   */
  get unavailable(): boolean {
    return this.#unavailable
  }

  /** The token the provider presents now. */
  async next(): Promise<string> {
    this.#unavailable = false
    try {
      this.#presented = await this.#next()
    } catch (error) {
      this.#unavailable = true
      throw error
    }
    return this.#presented
  }

  /**
   * The server refused the token: returns whether a fresh one is worth presenting (a page
   * source exists and this is the first refusal since the last success).
   */
  refused(): boolean {
    if (this.#retried || !this.renewable) return false
    this.#retried = true
    this.#reason = 'auth-failed'
    return true
  }

  /** The server accepted the token: a later refusal may be retried again. */
  accepted(): void {
    this.#retried = false
  }

  async #next(): Promise<string> {
    const reason = this.#reason
    this.#reason = 'connect'
    const { token } = this.sources()
    if (!this.renewable) return token ?? ''
    if (reason === 'connect' && this.#current !== null && !expiresSoon(this.#current)) return this.#current
    return this.#fetch(reason)
  }

  dispose(): void {
    clearTimeout(this.#timer)
    this.#current = null
  }

  async #fetch(reason: TokenReason): Promise<string> {
    const { document, tokenProvider, tokenUrl } = this.sources()
    try {
      const token = tokenProvider !== null
        ? await tokenProvider({ document, reason })
        : await fetchToken(new URL(tokenUrl!, location.href).toString(), document)
      this.#current = token
      this.#scheduleRenewal(token)
      return token
    } catch (error) {
      this.events.failed(`No token for ${document}: ${String(error)}`)
      throw error
    }
  }

  #scheduleRenewal(token: string): void {
    clearTimeout(this.#timer)
    const expiresAt = tokenExpiry(token)
    if (expiresAt === null) return
    this.#timer = setTimeout(() => {
      // A failure was reported through `failed`; the current token stays until it expires.
      this.#fetch('expiring').then(() => this.events.renewed(), () => undefined)
    }, renewalDelay(expiresAt, Date.now()))
  }
}

function expiresSoon(token: string): boolean {
  const expiresAt = tokenExpiry(token)
  return expiresAt !== null && renewalDelay(expiresAt, Date.now()) === 0
}
