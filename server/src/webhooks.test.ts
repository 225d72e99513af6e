import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MemoryStore } from '@tandem/persistence/memory-store'
import * as Y from 'yjs'
import { JwtAuthenticator } from './auth/jwt-authenticator.js'
import { connectProvider, disconnect, eventually, synced } from './test-support/clients.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from './test-support/hocuspocus.js'
import { startTestServer } from './test-support/server.js'
import { mintToken, TEST_SECRET } from './test-support/tokens.js'
import { type Answer, WebhookReceiver } from './test-support/webhook-receiver.js'

type Server = Awaited<ReturnType<typeof startTestServer>>

const PUBLIC_URL = 'https://tandem.example.com'

type Call = RequestInit & { token?: string | null }

/** A call to `/api/webhooks…` with `token` (an admin's for `*` when absent). */
async function call(server: Server, path: string, init: Call = {}): Promise<Response> {
  const token = init.token === undefined ? await mintToken({ sub: 'root', name: 'Root', role: 'admin', docs: ['*'] }) : init.token
  const headers = new Headers(init.headers)
  if (token !== null) headers.set('authorization', `Bearer ${token}`)
  if (typeof init.body === 'string') headers.set('content-type', 'application/json')
  return fetch(`${server.url}/api/webhooks${path}`, { ...init, headers })
}

/** Registers an endpoint for `receiver`, which takes its secret. */
async function register(server: Server, receiver: WebhookReceiver, body: object = {}): Promise<string> {
  const response = await call(server, '', { method: 'POST', body: JSON.stringify({ url: receiver.url, ...body }) })
  assert.equal(response.status, 201, await response.clone().text())
  const endpoint = await response.json() as { id: string, secret: string }
  receiver.secret = endpoint.secret
  return endpoint.id
}

describe('webhooks', () => {
  let server: Server
  const receivers: WebhookReceiver[] = []
  before(async () => {
    server = await startTestServer({
      store: new MemoryStore(),
      authenticator: new JwtAuthenticator(TEST_SECRET),
      publicUrl: PUBLIC_URL,
      webhooks: { allowPrivate: true, pollMs: 50, retryDelay: () => 100 },
    })
  })
  after(async () => {
    await server.stop()
    await Promise.all(receivers.map((receiver) => receiver.close().catch(() => undefined)))
  })

  async function receiver(): Promise<WebhookReceiver> {
    const started = await new WebhookReceiver().listen()
    receivers.push(started)
    return started
  }

  it('[WH10] endpoints are managed by admin tokens for "*" only: the secret is shown once, bad bodies get a JSON 400', async () => {
    const hook = await receiver()
    const created = await call(server, '', { method: 'POST', body: JSON.stringify({ url: hook.url, events: ['document.deleted'], documents: 'team-*' }) })
    assert.equal(created.status, 201)
    type Created = { id: string, secret: string, events: string[], documents: string, enabled: boolean }
    const endpoint = await created.json() as Created
    assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.deepEqual([endpoint.events, endpoint.documents, endpoint.enabled], [['document.deleted'], 'team-*', true])
    const listed = await (await call(server, '')).json() as { webhooks: Array<Record<string, unknown>> }
    assert.deepEqual(listed.webhooks.map((listedEndpoint) => listedEndpoint.id), [endpoint.id])
    assert.equal('secret' in listed.webhooks[0]!, false)

    // A test event, signed with that secret.
    hook.secret = endpoint.secret
    const tested = await (await call(server, `/${endpoint.id}/test`, { method: 'POST' })).json() as { ok: boolean, status: number }
    assert.deepEqual([tested.ok, tested.status], [true, 200])
    assert.deepEqual(hook.received.map((delivery) => [delivery.type, delivery.data.endpoint]), [['webhook.test', endpoint.id]])
    assert.deepEqual(hook.unverified, [])

    // Every route refuses other tokens.
    const refused = [
      [null, 401],
      [await mintToken({ role: 'write', docs: ['*'] }), 403],
      [await mintToken({ role: 'admin', docs: ['team-*'] }), 403],
    ] as const
    const routes: Array<[string, string, string?]> = [
      ['GET', ''], ['POST', '', JSON.stringify({ url: hook.url })], ['GET', `/${endpoint.id}`],
      ['PATCH', `/${endpoint.id}`, '{"enabled":false}'], ['DELETE', `/${endpoint.id}`], ['POST', `/${endpoint.id}/test`],
      ['GET', `/${endpoint.id}/deliveries`], ['POST', `/${endpoint.id}/deliveries/x/retry`],
    ]
    for (const [token, status] of refused) {
      for (const [method, path, body] of routes) {
        const response = await call(server, path, { method, body, token })
        assert.equal(response.status, status, `${method} ${path}`)
        assert.equal(typeof ((await response.json()) as { error: { message: string } }).error.message, 'string')
      }
    }

    const bad: Array<[string, string]> = [
      ['not json', 'invalid_json'],
      [JSON.stringify({ events: ['document.updated'] }), 'invalid_webhook'],
      [JSON.stringify({ url: hook.url, events: ['document.edited'] }), 'invalid_webhook'],
      [JSON.stringify({ url: hook.url, format: 'pdf' }), 'invalid_webhook'],
      [JSON.stringify({ url: hook.url, secret: 'mine' }), 'invalid_webhook'],
      [JSON.stringify({ url: 'ftp://example.com/hook' }), 'refused_target'],
      [JSON.stringify({ url: 'https://user:password@example.com/hook' }), 'refused_target'],
    ]
    for (const [body, code] of bad) {
      const response = await call(server, '', { method: 'POST', body })
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, code, body)
      assert.equal(response.status, code === 'refused_target' ? 422 : 400, body)
    }

    assert.equal((await call(server, `/${endpoint.id}`, { method: 'DELETE' })).status, 204)
    assert.equal((await call(server, `/${endpoint.id}`)).status, 404)
    assert.equal((await call(server, `/${endpoint.id}`, { method: 'DELETE' })).status, 404)
  })

  it('[WH11] private, loopback and link-local targets are refused unless WEBHOOK_ALLOW_PRIVATE', async () => {
    const guarded = await startTestServer({ store: new MemoryStore(), webhooks: {} })
    try {
      for (const url of ['http://127.0.0.1:9/hook', 'http://localhost/hook', 'http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[::1]/hook']) {
        const response = await call(guarded, '', { method: 'POST', body: JSON.stringify({ url }), token: null })
        assert.equal(response.status, 422, url)
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'refused_target')
      }
      assert.equal((await call(guarded, '', { method: 'POST', body: JSON.stringify({ url: 'https://hooks.example.com/tandem' }), token: null })).status, 201)
    } finally {
      await guarded.stop()
    }
  })

  it('[WH12] edits over both protocols and the HTTP API give document.created, then one coalesced document.updated, with the editors\' names', async () => {
    const hook = await receiver()
    const withContent = await receiver()
    const all = await register(server, hook)
    const markdown = await register(server, withContent, { events: ['document.updated'], documents: 'wh-*', format: 'markdown' })
    const ada = connectProvider(server.wsUrl, 'wh-doc', undefined, await mintToken({ sub: 'ada', name: 'Ada Lovelace' }))
    const bob = connectHocuspocus(server.wsUrl, 'wh-doc', { token: await mintToken({ sub: 'bob', name: 'Bob Kahn' }) })
    try {
      await synced(ada)
      await hocuspocusSynced(bob)
      ada.doc.getXmlFragment('default').insert(0, [new Y.XmlText('Ada starts.')])
      await eventually(() => hook.of('document.created').length === 1, 'no document.created')
      const created = hook.of('document.created')[0]!
      assert.equal(created.data.document, 'wh-doc')
      assert.deepEqual(created.data.editors, ['Ada Lovelace'])
      assert.equal(created.data.url, `${PUBLIC_URL}/api/documents/wh-doc/content`)
      assert.equal('content' in created.data, false)

      // A burst from all three, well within the quiet period: one event for all of it.
      const burstAt = Date.now()
      bob.document.getXmlFragment('default').insert(0, [new Y.XmlText('Bob adds. ')])
      const put = await fetch(`${server.url}/api/documents/wh-doc/content`, {
        method: 'PUT',
        headers: { 'authorization': `Bearer ${await mintToken({ sub: 'backend', name: 'Backend', docs: ['*'] })}`, 'content-type': 'text/markdown' },
        body: 'Replaced by the backend.',
      })
      assert.equal(put.status, 200)
      await eventually(() => hook.of('document.updated').length === 1, 'no document.updated', 5_000)
      const updated = hook.of('document.updated')[0]!
      assert.ok(Date.now() - burstAt >= 2_000, 'sent before edits paused for 2 s')
      assert.deepEqual(new Set(updated.data.editors as string[]), new Set(['Bob Kahn', 'backend']))
      assert.equal(updated.data.document, 'wh-doc')
      assert.match(String(updated.data.updatedAt), /^\d{4}-\d\d-\d\dT/)
      await eventually(() => withContent.of('document.updated').length === 1, 'no document.updated with content')
      const { content, format } = withContent.of('document.updated')[0]!.data
      assert.deepEqual([String(content).trim(), format], ['Replaced by the backend.', 'markdown'])
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      assert.equal(hook.of('document.updated').length, 1, 'the burst was sent more than once')

      // Typing that never pauses for 2 s is still told within 10 s, and not more often.
      const started = Date.now()
      const text = ada.doc.getText('typing')
      while (Date.now() - started < 11_000) {
        text.insert(text.length, 'x')
        await new Promise((resolve) => setTimeout(resolve, 300))
      }
      const during = hook.of('document.updated').slice(1)
      assert.equal(during.length, 1, `${during.length} document.updated while typing for 11 s`)
      assert.deepEqual(during[0]!.data.editors, ['Ada Lovelace'])
      assert.deepEqual([hook.unverified, withContent.unverified], [[], []])
      for (const delivery of hook.received) assert.match(delivery.id, /^msg_/)
      assert.equal(new Set(hook.received.map((delivery) => delivery.id)).size, hook.received.length)
    } finally {
      disconnect(ada)
      disconnectHocuspocus(bob)
      await call(server, `/${all}`, { method: 'DELETE' })
      await call(server, `/${markdown}`, { method: 'DELETE' })
    }
  })

  it('[WH13] versions saved and restored, and a deletion, are told once each, with the version\'s id', async () => {
    const hook = await receiver()
    const id = await register(server, hook, { events: ['version.created', 'version.restored', 'document.deleted'] })
    const admin = { authorization: `Bearer ${await mintToken({ sub: 'root', name: 'Root', role: 'admin', docs: ['*'] })}` }
    const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api/documents${path}`, { ...init, headers: { ...admin, ...init.headers } })
    try {
      assert.equal((await api('?name=wh-versions', { method: 'POST', headers: { 'content-type': 'text/markdown' }, body: 'First.' })).status, 201)
      const saved = await (await api('/wh-versions/versions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"first"}' })).json() as { id: string }
      await api('/wh-versions/content', { method: 'PUT', headers: { 'content-type': 'text/markdown' }, body: 'Second.' })
      assert.equal((await api(`/wh-versions/versions/${saved.id}/restore`, { method: 'POST' })).status, 200)
      assert.equal((await api('/wh-versions', { method: 'DELETE' })).status, 204)
      await eventually(() => hook.received.length === 3, `got ${hook.received.map((delivery) => delivery.type).join(', ')}`)
      const [created, restored, deleted] = hook.received
      assert.deepEqual([created!.type, created!.data.version, created!.data.label, created!.data.editors], ['version.created', saved.id, 'first', ['root']])
      assert.deepEqual([restored!.type, restored!.data.version, restored!.data.editors], ['version.restored', saved.id, ['root']])
      assert.deepEqual([deleted!.type, deleted!.data.document], ['document.deleted', 'wh-versions'])
      // The versions the server takes before a replace or a restore are its own: not told.
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(hook.received.length, 3)
      assert.deepEqual(hook.unverified, [])
    } finally {
      await call(server, `/${id}`, { method: 'DELETE' })
    }
  })
})

describe('webhook retries', () => {
  it('[WH14] a receiver that fails 3 times then succeeds gets the event once acknowledged; Retry-After is honoured; the deliveries list and retry route show and resend it', async () => {
    const hook = await new WebhookReceiver().listen()
    const server = await startTestServer({
      store: new MemoryStore(),
      webhooks: { allowPrivate: true, pollMs: 20, retryDelay: (_, after) => Math.max(100, after ?? 0) },
    })
    try {
      const id = await register(server, hook, { events: ['document.created'] })
      let failures = 0
      hook.answer = (): Answer => {
        failures += 1
        if (failures === 2) return { status: 503, headers: { 'retry-after': '1' } }
        return { status: failures <= 3 ? 500 : 204 }
      }
      const started = Date.now()
      assert.equal((await fetch(`${server.url}/api/documents?name=wh-retried`, { method: 'POST' })).status, 201)
      await eventually(() => hook.received.length === 1, 'never delivered', 10_000)
      assert.ok(Date.now() - started >= 1_000, 'Retry-After: 1 was not waited for')
      assert.deepEqual(hook.attempts.map((attempt) => attempt.status), [500, 503, 500, 204])
      assert.equal(new Set(hook.attempts.map((attempt) => attempt.id)).size, 1, 'a retry changed the webhook-id')
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(hook.attempts.length, 4, 'sent again after it was acknowledged')

      const { deliveries } = await (await call(server, `/${id}/deliveries`, { token: null })).json() as { deliveries: Array<{ id: string, status: string, attempts: number, lastStatus: number, event: { type: string } }> }
      assert.deepEqual(deliveries.map((delivery) => [delivery.status, delivery.attempts, delivery.lastStatus, delivery.event.type]), [['delivered', 4, 204, 'document.created']])
      assert.equal(hook.attempts[0]!.id, `msg_${deliveries[0]!.id}`)
      assert.equal((await call(server, `/${id}/deliveries/${deliveries[0]!.id}/retry`, { method: 'POST', token: null })).status, 202)
      await eventually(() => hook.received.length === 2, 'the retry route sent nothing')
      assert.equal(hook.received[1]!.id, hook.received[0]!.id)
      assert.equal((await call(server, `/${id}/deliveries/nope/retry`, { method: 'POST', token: null })).status, 404)
      const metrics = await (await fetch(`${server.url}/metrics`)).text()
      assert.match(metrics, /tandem_webhook_attempts_total\{result="failed"\} 3/)
      assert.match(metrics, /tandem_webhook_attempts_total\{result="delivered"\} 2/)
      assert.match(metrics, /tandem_webhook_queue_depth 0/)
    } finally {
      await server.stop()
      await hook.close()
    }
  })

  it('[WH15] an endpoint failing for 3 days is disabled and gets nothing until the API enables it again; then what waited arrives', async () => {
    const hook = await new WebhookReceiver().listen()
    let offset = 0
    const server = await startTestServer({
      store: new MemoryStore(),
      // The webhooks' clock jumps 3 days ahead mid-test.
      // Retries an hour apart: after the jump, and after enabling, only at once.
      webhooks: { allowPrivate: true, pollMs: 20, retryDelay: () => 3_600_000,
        now: () => new Date(Date.now() + offset) },
    })
    try {
      const id = await register(server, hook, { events: ['document.created'] })
      hook.answer = () => ({ status: 500 })
      await fetch(`${server.url}/api/documents?name=wh-down`, { method: 'POST' })
      await eventually(() => hook.attempts.length === 1, 'no attempt')
      const endpoint = async () => (await (await call(server, `/${id}`, { token: null })).json()) as { enabled: boolean, failingSince: string | null, disabledAt: string | null }
      assert.equal((await endpoint()).enabled, true)
      assert.notEqual((await endpoint()).failingSince, null)
      // Three days and the hour of backoff later, the retry fails again.
      offset = 3 * 24 * 3600_000 + 3600_000 + 1_000
      await eventually(async () => !(await endpoint()).enabled, 'never disabled')
      const attempts = hook.attempts.length
      hook.answer = () => ({ status: 200 })
      await fetch(`${server.url}/api/documents?name=wh-while-disabled`, { method: 'POST' })
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.equal(hook.attempts.length, attempts, 'a disabled endpoint was sent to')

      const enabled = await call(server, `/${id}`, { method: 'PATCH', body: '{"enabled":true}', token: null })
      const body = await enabled.json() as { enabled: boolean, failingSince: string | null }
      assert.deepEqual([body.enabled, body.failingSince], [true, null])
      await eventually(() => hook.received.some((delivery) => delivery.data.document === 'wh-down'), 'what waited never arrived')
    } finally {
      await server.stop()
      await hook.close()
    }
  })
})
