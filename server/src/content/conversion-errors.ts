/** Content that does not fit the schema; answered with 422 and the reason. */
export class ContentError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ContentError'
  }
}

/** A conversion that ran past its time budget; its worker was stopped. */
export class ConversionTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the conversion took longer than ${timeoutMs} ms and was stopped`)
    this.name = 'ConversionTimeoutError'
  }
}

/** More conversions waiting than the pool queues; the caller should retry later. */
export class ConversionBusyError extends Error {
  constructor() {
    super('too many conversions are waiting; retry shortly')
    this.name = 'ConversionBusyError'
  }
}

/** The pool is closed, or a worker failed for a reason other than the content. */
export class ConversionUnavailableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConversionUnavailableError'
  }
}
