import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

/** One webhook as a receiver got it, verified with the Standard Webhooks library. */
export interface ReceivedWebhook {
  readonly id: string
  readonly type: string
  readonly timestamp: string
  readonly data: Record<string, unknown>
  readonly headers: IncomingHttpHeaders
  /** What the receiver answered. */
  readonly status: number
}

/** What the receiver answers an attempt. */
export interface Answer {
  readonly status: number
  readonly headers?: Record<string, string>
}

/**
 * A backend receiving Tandem's webhooks on 127.0.0.1: it verifies every request with the
 * Standard Webhooks library (an unverifiable one fails the test that reads `unverified`),
 * and answers what `answer` says (200 by default). `received` has the requests it answered
 * 2xx, `attempts` every verified one.
 */
export class WebhookReceiver {
  secret: string | null = null
  answer: (attempt: ReceivedWebhook) => Answer = () => ({ status: 200 })
  readonly attempts: ReceivedWebhook[] = []
  readonly unverified: string[] = []
  readonly #server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let payload: { type: string, timestamp: string, data: Record<string, unknown> }
      try {
        if (this.secret === null) throw new Error('the receiver has no secret yet')
        payload = new Webhook(this.secret).verify(body, headersOf(request.headers)) as typeof payload
      } catch (error) {
        this.unverified.push(`${(error as Error).message}: ${body}`)
        response.writeHead(400).end()
        return
      }
      const id = String(request.headers['webhook-id'])
      const got = { id, ...payload, headers: request.headers, status: 0 }
      const { status, headers } = this.answer(got)
      this.attempts.push({ ...got, status })
      response.writeHead(status, headers).end()
    })
  })

  /** The deliveries it acknowledged, in order. */
  get received(): ReceivedWebhook[] {
    return this.attempts.filter((attempt) => attempt.status >= 200 && attempt.status < 300)
  }

  /** Acknowledged deliveries of one event type. */
  of(type: string): ReceivedWebhook[] {
    return this.received.filter((delivery) => delivery.type === type)
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks`
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve))
    return this
  }

  /** Stops answering (connections are refused) until `listen` is called again, on the same port. */
  async close(): Promise<number> {
    const { port } = this.#server.address() as AddressInfo
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    return port
  }
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]))
}
