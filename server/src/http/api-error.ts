import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** An HTTP API failure, answered as `{ error: { code, message } }` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}
