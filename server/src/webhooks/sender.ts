import { request as httpRequest } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { performance } from 'node:perf_hooks'
import { checkWebhookUrl, guardedLookup, WebhookTargetError } from './target-guard.js'
import type { TargetOptions } from './target-guard.js'

/** One delivery attempt: the endpoint, the already signed headers, and the JSON body. */
export interface WebhookRequest {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

export interface SendOptions extends TargetOptions {
  /** For the whole attempt: connecting, sending, and reading the response. */
  readonly timeoutMs?: number
}

/** How an attempt went, in the terms the outbox records and shows to the endpoint's owner. */
export interface SendResult {
  /** The endpoint answered 2xx. */
  readonly ok: boolean
  /** Null when no response came (refused target, network error, timeout). */
  readonly status: number | null
  /** A short human reason for a failure, null when ok. */
  readonly error: string | null
  /** What the endpoint asked for in `Retry-After` on a non-2xx answer. */
  readonly retryAfterMs: number | null
  readonly durationMs: number
}

export const DEFAULT_TIMEOUT_MS = 15_000

/** Receivers should answer 2xx quickly with an empty body; past this much we stop reading. */
const MAX_RESPONSE_BYTES = 64 * 1024

const USER_AGENT = 'Tandem-Webhooks/1'

class AttemptTimeout extends Error {}

type Outcome = Omit<SendResult, 'durationMs'>

/**
 * POSTs one webhook and reports how it went; never throws. The target is checked twice: the
 * URL before connecting, and each address its name resolves to while connecting. Redirects
 * are not followed, since a redirect could lead to an address the check would refuse.
 */
export async function sendWebhook(request: WebhookRequest, options: SendOptions): Promise<SendResult> {
  const started = performance.now()
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  let outcome: Outcome
  try {
    const url = checkWebhookUrl(request.url, options)
    outcome = judge(await post(url, request, timeoutMs, options))
  } catch (error) {
    outcome = { ok: false, status: null, error: describe(error, timeoutMs), retryAfterMs: null }
  }
  return { ...outcome, durationMs: Math.round(performance.now() - started) }
}

/** Sends the request and resolves with the response once its body ended or passed the limit. */
function post(
  url: URL,
  request: WebhookRequest,
  timeoutMs: number,
  target: TargetOptions,
): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const outgoing = send(url, {
      method: 'POST',
      headers: { ...request.headers, 'user-agent': USER_AGENT, 'content-length': Buffer.byteLength(request.body) },
      lookup: guardedLookup(target),
      // A fresh connection per attempt: each is resolved and checked anew, and no idle
      // sockets to users' endpoints are kept.
      agent: false,
    })
    const timer = setTimeout(() => {
      const timeout = new AttemptTimeout()
      reject(timeout)
      outgoing.destroy(timeout)
    }, timeoutMs)
    const settle = (response: IncomingMessage) => {
      clearTimeout(timer)
      resolve(response)
    }
    outgoing.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    outgoing.on('response', (response) => {
      let received = 0
      response.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received < MAX_RESPONSE_BYTES) return
        settle(response)
        response.destroy()
      })
      response.on('end', () => settle(response))
      response.on('error', reject)
    })
    outgoing.end(request.body)
  })
}

function judge(response: IncomingMessage): Outcome {
  const status = response.statusCode ?? 0
  if (status >= 200 && status < 300) return { ok: true, status, error: null, retryAfterMs: null }
  const error = status >= 300 && status < 400 ? 'redirects are not followed' : `HTTP ${status}`
  return { ok: false, status, error, retryAfterMs: parseRetryAfter(response.headers['retry-after']) }
}

/** `Retry-After` is either a number of seconds or an HTTP date (RFC 9110 §10.2.3). */
function parseRetryAfter(value: string | undefined): number | null {
  if (value === undefined) return null
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now())
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof AttemptTimeout) return `timed out after ${timeoutMs / 1000} s`
  if (error instanceof WebhookTargetError) return error.message
  // Trying several addresses of one name fails with all their errors together.
  const first = error instanceof AggregateError ? error.errors[0] : error
  const code = (first as NodeJS.ErrnoException | undefined)?.code
  if (code !== undefined && NETWORK_ERRORS[code] !== undefined) return NETWORK_ERRORS[code]
  return first instanceof Error ? first.message : String(first)
}
