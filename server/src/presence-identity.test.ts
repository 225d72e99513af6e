import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { HocuspocusProvider } from '@hocuspocus/provider'
import type { WebsocketProvider } from 'y-websocket'
import { JwtAuthenticator } from './auth/jwt-authenticator.js'
import { ShareTokens } from './auth/share-tokens.js'
import { MemoryStore } from '@tandem/persistence/memory-store'
import { connectProvider, disconnect, synced, when } from './test-support/clients.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from './test-support/hocuspocus.js'
import { startTestServer } from './test-support/server.js'
import { mintToken, TEST_SECRET } from './test-support/tokens.js'

type Awareness = NonNullable<HocuspocusProvider['awareness']>
type State = Record<string, unknown>

/** What `watcher` sees of the client `of` in its presence, once it sees anything. */
async function seenBy(watcher: Awareness, of: Awareness): Promise<State> {
  await when(watcher, 'change', () => watcher.getStates().has(of.clientID), 'the presence never arrived')
  return watcher.getStates().get(of.clientID) as State
}

/** What `watcher` shows for `of` once its `user.name` is no longer `previous`. */
async function renamed(watcher: Awareness, of: Awareness, previous: string): Promise<State> {
  await when(watcher, 'change', () => {
    const state = watcher.getStates().get(of.clientID) as { user?: { name?: string } } | undefined
    return state?.user !== undefined && state.user.name !== previous
  }, 'the presence never changed')
  return watcher.getStates().get(of.clientID) as State
}

describe('presence names come from the token', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  const open: Array<WebsocketProvider | HocuspocusProvider> = []
  before(async () => {
    const authenticator = new JwtAuthenticator(TEST_SECRET)
    server = await startTestServer({ store: new MemoryStore(), authenticator })
  })
  after(async () => {
    for (const provider of open) {
      if ('configuration' in provider) disconnectHocuspocus(provider)
      else disconnect(provider)
    }
    await server.stop()
  })

  async function yws(document: string, token: string): Promise<WebsocketProvider> {
    const provider = connectProvider(server.wsUrl, document, undefined, token)
    open.push(provider)
    await synced(provider)
    return provider
  }

  async function hocuspocus(document: string, token: string): Promise<HocuspocusProvider> {
    const provider = connectHocuspocus(server.wsUrl, document, { token })
    open.push(provider)
    await hocuspocusSynced(provider)
    return provider
  }

  it('[PI1] a client claiming another name shows its token\'s name; its colour and cursor pass through', async () => {
    const ada = await yws('pi-one', await mintToken({ sub: 'ada', name: 'Ada Lovelace' }))
    const bob = await yws('pi-one', await mintToken({ sub: 'bob', name: 'Bob Kahn' }))
    ada.awareness.setLocalState({ user: { name: 'Bob Kahn', color: '#e11d48' }, cursor: { anchor: 3, head: 5 } })
    assert.deepEqual(await seenBy(bob.awareness, ada.awareness), {
      user: { name: 'Ada Lovelace', color: '#e11d48' },
      cursor: { anchor: 3, head: 5 },
    })

    // A later state with yet another name, or no user at all, still shows the token's name.
    ada.awareness.setLocalStateField('user', { name: 'Grace Hopper', color: '#059669' })
    await when(bob.awareness, 'change', () => (bob.awareness.getStates().get(ada.awareness.clientID) as { user: { color: string } }).user.color === '#059669', 'the new colour never arrived')
    assert.deepEqual(bob.awareness.getStates().get(ada.awareness.clientID), {
      user: { name: 'Ada Lovelace', color: '#059669' },
      cursor: { anchor: 3, head: 5 },
    })
    ada.awareness.setLocalState({ cursor: null })
    await when(bob.awareness, 'change', () => (bob.awareness.getStates().get(ada.awareness.clientID) as { cursor?: unknown }).cursor === null, 'the state without a user never arrived')
    assert.deepEqual(bob.awareness.getStates().get(ada.awareness.clientID), { cursor: null, user: { name: 'Ada Lovelace' } })

    // A joiner, and the document's info over the HTTP API, get the stamped name too.
    const carol = await yws('pi-one', await mintToken({ sub: 'carol', name: 'Carol Shaw' }))
    assert.equal((await seenBy(carol.awareness, ada.awareness) as { user: { name: string } }).user.name, 'Ada Lovelace')
    ada.doc.getText('text').insert(0, 'so the document exists')
    const info = await fetch(`${server.url}/api/documents/pi-one`, { headers: { authorization: `Bearer ${await mintToken()}` } })
    assert.deepEqual(((await info.json()) as { editors: string[] }).editors.sort(), ['Ada Lovelace', 'Bob Kahn', 'Carol Shaw'])
  })

  it('[PI2] the Hocuspocus protocol stamps the same way, and a token without `name` shows its `sub`', async () => {
    const token = await mintToken({ sub: 'grace', name: null })
    const grace = await hocuspocus('pi-two', token)
    const bob = await yws('pi-two', await mintToken({ sub: 'bob', name: 'Bob Kahn' }))
    grace.awareness!.setLocalStateField('user', { name: 'Ada Lovelace', color: '#7c3aed' })
    const seen = await seenBy(bob.awareness, grace.awareness!) as { user: { name: string, color: string } }
    assert.deepEqual(seen.user, { name: 'grace', color: '#7c3aed' })
    const ada = await hocuspocus('pi-two', await mintToken({ sub: 'ada', name: 'Ada Lovelace' }))
    ada.awareness!.setLocalStateField('user', { name: 'Bob Kahn' })
    assert.deepEqual((await seenBy(grace.awareness!, ada.awareness!)).user, { name: 'Ada Lovelace' })
  })

  it('[PI3] a share link\'s token names nobody: whoever opens it shows the name they chose', async () => {
    const sharer = await new JwtAuthenticator(TEST_SECRET).authenticate(await mintToken({ sub: 'ada', name: 'Ada Lovelace' }))
    const { token } = await new ShareTokens(TEST_SECRET).mint({ document: 'pi-three', role: 'write', sharer, expiresInSeconds: 600 })
    const guest = await yws('pi-three', token)
    const ada = await yws('pi-three', await mintToken({ sub: 'ada', name: 'Ada Lovelace' }))
    guest.awareness.setLocalStateField('user', { name: 'A guest', color: '#0284c7' })
    assert.deepEqual((await seenBy(ada.awareness, guest.awareness)).user, { name: 'A guest', color: '#0284c7' })
    guest.awareness.setLocalStateField('user', { name: 'Another guest', color: '#0284c7' })
    assert.deepEqual((await renamed(ada.awareness, guest.awareness, 'A guest')).user, { name: 'Another guest', color: '#0284c7' })
  })
})
