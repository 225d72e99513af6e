import type { Logger } from 'pino'

export interface VersionPolicyOptions {
  /** Save a version when the document changed and this long passed since the last one; unset never. */
  readonly intervalMs?: number
  readonly now: () => number
  /** Takes the automatic version. */
  readonly save: () => Promise<unknown>
  readonly logger: Logger
  readonly document: string
}

/**
 * When a room takes automatic versions: after a period of activity, once the document
 * changed and the interval passed since the last version (automatic or not).
 */
export class VersionPolicy {
  readonly #options: VersionPolicyOptions
  #changed = false
  #saving = false
  #lastAt: number

  constructor(options: VersionPolicyOptions) {
    this.#options = options
    this.#lastAt = options.now()
  }

  /** A change made here (by a client or the API) was stored. */
  changed(): void {
    this.#changed = true
  }

  /** A version is being taken now; the next automatic one waits a whole interval. */
  taken(): void {
    this.#changed = false
    this.#lastAt = this.#options.now()
  }

  /** Takes an automatic version if one is due; its failure is logged, never thrown. */
  maybeSave(): void {
    const { intervalMs, now, save, logger, document } = this.#options
    if (!this.#changed || this.#saving || intervalMs === undefined) return
    if (now() - this.#lastAt < intervalMs) return
    this.#saving = true
    save()
      .catch((error: unknown) => logger.error({ err: error, document }, 'automatic version failed'))
      .finally(() => {
        this.#saving = false
      })
  }
}
