import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MemoryStore } from '@tandem/persistence/memory-store'
import { decodeJwt } from 'jose'
import * as Y from 'yjs'
import { JwtAuthenticator } from '../auth/jwt-authenticator.js'
import { ShareTokens } from '../auth/share-tokens.js'
import { connectProvider, disconnect, eventually, synced } from '../test-support/clients.js'
import { startTestServer } from '../test-support/server.js'
import { mintToken, TEST_SECRET } from '../test-support/tokens.js'

const DAY = 24 * 60 * 60 * 1000

interface ShareAnswer {
  token: string | null
  url: string
  role: string
  expiresAt: string | null
}

describe('share links', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  const authenticator = new JwtAuthenticator(TEST_SECRET)
  let writer: string
  let reader: string

  const share = (name: string, body: unknown, token: string | null = writer) =>
    fetch(`${server.url}/api/documents/${encodeURIComponent(name)}/share`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  const minted = async (name: string, body: unknown, token?: string) => {
    const response = await share(name, body, token)
    assert.equal(response.status, 201, await response.clone().text())
    return (await response.json()) as ShareAnswer & { token: string }
  }

  before(async () => {
    server = await startTestServer({
      store: new MemoryStore(),
      authenticator,
      shareTokens: new ShareTokens(TEST_SECRET),
    })
    writer = await mintToken({ sub: 'wendy', name: 'Wendy', role: 'write', docs: ['team-*'], expiresIn: 30 * 86_400 })
    reader = await mintToken({ sub: 'rita', name: 'Rita', role: 'read', docs: ['team-*'] })
  })
  after(() => server.stop())

  it('[SH1] a writer mints a read link: one document, the asked role, in the fragment, naming nobody', async () => {
    const answer = await minted('team-notes', { role: 'read' })
    assert.equal(answer.role, 'read')
    assert.equal(answer.url, `/d/team-notes#token=${answer.token}`)
    assert.ok(!answer.url.includes('?'), 'the token never rides in a query string')
    const claims = decodeJwt(answer.token)
    assert.deepEqual(claims.docs, ['team-notes'])
    assert.equal(claims.role, 'read')
    assert.equal(claims.sub, 'share:wendy')
    assert.equal(claims.name, undefined, 'a share token must not carry the sharer\'s name')
    const principal = await authenticator.authenticate(answer.token)
    assert.equal(principal.role, 'read')
    assert.deepEqual(principal.documents, ['team-notes'])
    const lifetime = new Date(answer.expiresAt!).getTime() - Date.now()
    assert.ok(lifetime > 7 * DAY - 60_000 && lifetime <= 7 * DAY, `default lifetime ${lifetime} ms`)
  })

  it('[SH2] the link opens its document read-only and nothing else', async () => {
    const { token } = await minted('team-shared', { role: 'read' })
    const put = (name: string) => fetch(`${server.url}/api/documents/${name}/content`, {
      method: 'PUT',
      headers: { 'authorization': `Bearer ${token}`, 'content-type': 'text/markdown' },
      body: 'changed',
    })
    assert.equal((await put('team-shared')).status, 403, 'a read link may not write')
    const other = await fetch(`${server.url}/api/documents/team-other`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(other.status, 403, 'a link opens one document, not the sharer\'s glob')

    const own = connectProvider(server.wsUrl, 'team-shared', new Y.Doc(), writer)
    const guest = connectProvider(server.wsUrl, 'team-shared', new Y.Doc(), token)
    try {
      await Promise.all([synced(own), synced(guest)])
      own.doc.getText('t').insert(0, 'from the owner')
      await eventually(() => guest.doc.getText('t').toString() === 'from the owner', 'the guest never saw the edit')
      const dropped = async () => (await server.metrics.readOnlyUpdatesDropped.get()).values[0]?.value ?? 0
      const before = await dropped()
      guest.doc.getText('t').insert(0, 'guest ')
      await eventually(async () => (await dropped()) > before, 'the read link\'s edit was not dropped')
      assert.equal(own.doc.getText('t').toString(), 'from the owner', 'the read link\'s edit was relayed')
    } finally {
      disconnect(own, guest)
    }
  })

  it('[SH3] a link never grants more than the sharer has: role, document, admin', async () => {
    assert.equal((await share('team-notes', { role: 'write' }, reader)).status, 403, 'a reader shared write')
    assert.equal((await minted('team-notes', { role: 'read' }, reader)).role, 'read')
    assert.equal((await share('elsewhere', { role: 'read' })).status, 403, 'shared a document outside docs')
    assert.equal((await share('team-notes', { role: 'admin' }, await mintToken({ role: 'admin' }))).status, 400)
    assert.equal((await share('team-notes', { role: 'read' }, null)).status, 401)
    assert.equal((await share('.hidden', { role: 'read' })).status, 400)
    // A write link can pass on a read link to the same document, and no further.
    const { token } = await minted('team-notes', { role: 'write' })
    assert.deepEqual(decodeJwt((await minted('team-notes', { role: 'read' }, token)).token).docs, ['team-notes'])
    assert.equal((await share('team-other', { role: 'read' }, token)).status, 403)
  })

  it('[SH4] expiresIn is honoured, capped at 90 days and at the sharer\'s own expiry', async () => {
    const hour = await minted('team-notes', { role: 'read', expiresIn: 3600 })
    const lifetime = new Date(hour.expiresAt!).getTime() - Date.now()
    assert.ok(lifetime > 3500_000 && lifetime <= 3600_000, `lifetime ${lifetime} ms`)
    assert.equal(decodeJwt(hour.token).exp, new Date(hour.expiresAt!).getTime() / 1000)
    for (const expiresIn of [91 * 86_400, 0, -5, 1.5, 'soon']) {
      assert.equal((await share('team-notes', { role: 'read', expiresIn })).status, 400, `expiresIn ${expiresIn}`)
    }
    const brief = await mintToken({ sub: 'bea', role: 'write', docs: ['team-*'], expiresIn: 600 })
    const capped = await minted('team-notes', { role: 'read', expiresIn: 86_400 }, brief)
    assert.equal(decodeJwt(capped.token).exp, decodeJwt(brief).exp, 'the link outlived the sharer\'s token')
    const bad = await fetch(`${server.url}/api/documents/team-notes/share`, {
      method: 'POST',
      headers: { authorization: `Bearer ${writer}` },
      body: '{not json',
    })
    assert.equal(bad.status, 400)
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_json')
  })

  it('[SH5] open mode answers the plain link and no token', async () => {
    const open = await startTestServer({ store: new MemoryStore() })
    try {
      const response = await fetch(`${open.url}/api/documents/caf%C3%A9%3Anotes/share`, {
        method: 'POST',
        body: JSON.stringify({ role: 'read' }),
      })
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), { token: null, url: '/d/caf%C3%A9%3Anotes', role: 'write', expiresAt: null })
    } finally {
      await open.stop()
    }
  })
})
