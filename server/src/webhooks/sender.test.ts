import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { freePort } from '../test-support/free-port.js'
import { sendWebhook } from './sender.js'

interface Received {
  readonly method: string | undefined
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

interface Receiver {
  readonly url: string
  readonly received: Received[]
  /** TCP connections accepted, whether or not a request came on them. */
  connections: number
}

const servers: ReturnType<typeof createServer>[] = []
after(() => {
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

/** A real HTTP endpoint on 127.0.0.1 that records what reaches it, then answers with `answer`. */
async function receiver(answer: RequestListener): Promise<Receiver> {
  const received: Received[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const { method, headers } = request
      received.push({ method, headers, body: Buffer.concat(chunks).toString() })
      answer(request, response)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const endpoint: Receiver = { url: `http://127.0.0.1:${port}/hook`, received, connections: 0 }
  server.on('connection', () => endpoint.connections++)
  return endpoint
}

function answerWith(status: number, headers: Record<string, string> = {}): RequestListener {
  return (_request, response) => response.writeHead(status, headers).end('{"note":"ignored"}')
}

const body = '{"type":"document.updated"}'
const local = { allowPrivate: true }

function send(url: string, options: { timeoutMs?: number, allowPrivate: boolean } = local) {
  return sendWebhook({ url, headers: { 'webhook-id': 'msg_1', 'content-type': 'application/json' }, body }, options)
}

describe('sending a webhook', () => {
  it('[WH5] a 2xx answer is ok; the request is a POST with the body, headers and user agent', async () => {
    const endpoint = await receiver(answerWith(204))
    const result = await send(endpoint.url)
    assert.deepEqual({ ...result, durationMs: 0 }, {
      ok: true, status: 204, error: null, retryAfterMs: null, durationMs: 0,
    })
    assert.ok(result.durationMs >= 0 && result.durationMs < 5000, `took ${result.durationMs} ms`)
    const [request] = endpoint.received
    assert.equal(request?.method, 'POST')
    assert.equal(request.body, body)
    assert.equal(request.headers['webhook-id'], 'msg_1')
    assert.equal(request.headers['user-agent'], 'Tandem-Webhooks/1')
    assert.equal(request.headers['content-length'], String(body.length))
  })

  it('[WH5] a 5xx answer is a failure; a long response body is not waited for', async () => {
    const failing = await receiver(answerWith(500))
    assert.deepEqual(
      { ...await send(failing.url), durationMs: 0 },
      { ok: false, status: 500, error: 'HTTP 500', retryAfterMs: null, durationMs: 0 },
    )
    // 100 KiB and then nothing: a sender reading to the end would hang until its timeout.
    const chatty = await receiver((_request, response) => {
      response.writeHead(200).write(Buffer.alloc(100 * 1024))
    })
    const result = await send(chatty.url, { ...local, timeoutMs: 2000 })
    assert.equal(result.ok, true, String(result.error))
  })

  it('[WH6] Retry-After is read as seconds or as an HTTP date', async () => {
    const inSeconds = await receiver(answerWith(429, { 'retry-after': '120' }))
    assert.deepEqual(
      { ...await send(inSeconds.url), durationMs: 0 },
      { ok: false, status: 429, error: 'HTTP 429', retryAfterMs: 120_000, durationMs: 0 },
    )
    const later = new Date(Date.now() + 90_000).toUTCString()
    const asDate = await receiver(answerWith(503, { 'retry-after': later }))
    const result = await send(asDate.url)
    assert.equal(result.error, 'HTTP 503')
    const retryAfterMs = result.retryAfterMs ?? -1
    assert.ok(retryAfterMs > 85_000 && retryAfterMs <= 90_000, `retry after ${retryAfterMs} ms`)
    const garbled = await receiver(answerWith(503, { 'retry-after': 'soon' }))
    assert.equal((await send(garbled.url)).retryAfterMs, null)
  })

  it('[WH7] a redirect is a failure and is not followed', async () => {
    const target = await receiver(answerWith(200))
    const redirecting = await receiver(answerWith(302, { location: target.url }))
    assert.deepEqual(
      { ...await send(redirecting.url), durationMs: 0 },
      { ok: false, status: 302, error: 'redirects are not followed', retryAfterMs: null, durationMs: 0 },
    )
    assert.equal(target.connections, 0, 'the redirect target was called')
  })

  it('[WH7] an endpoint that never answers times out; a closed port is refused', async () => {
    const silent = await receiver(() => {})
    const result = await send(silent.url, { ...local, timeoutMs: 200 })
    assert.deepEqual({ ...result, durationMs: 0 }, {
      ok: false, status: null, error: 'timed out after 0.2 s', retryAfterMs: null, durationMs: 0,
    })
    assert.ok(result.durationMs >= 190 && result.durationMs < 2000, `took ${result.durationMs} ms`)
    assert.equal(silent.received.length, 1, 'the request never arrived')
    const closed = await send(`http://127.0.0.1:${await freePort()}/hook`)
    assert.deepEqual({ ...closed, durationMs: 0 }, {
      ok: false, status: null, error: 'connection refused', retryAfterMs: null, durationMs: 0,
    })
  })

  it('[WH8] unless private targets are allowed, a local endpoint is refused before any connection', async () => {
    const endpoint = await receiver(answerWith(200))
    const result = await send(endpoint.url, { allowPrivate: false })
    assert.deepEqual({ ...result, durationMs: 0 }, {
      ok: false, status: null, error: '127.0.0.1 is in the loopback range', retryAfterMs: null, durationMs: 0,
    })
    const byName = await send(endpoint.url.replace('127.0.0.1', 'localhost'), { allowPrivate: false })
    assert.equal(byName.error, 'localhost is this machine')
    assert.equal((await send('ftp://example.com/hook')).error, 'ftp: URLs are not allowed, only http: and https:')
    assert.equal(endpoint.connections, 0)
  })
})
