import assert from 'node:assert/strict'
import { describe, it, mock } from 'node:test'
import { TokenSession, type TokenSources } from './token-session.js'
import type { TokenReason } from './token-source.js'

function jwt(exp: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'HS256' })}.${part({ exp })}.signature`
}

describe('the embedded editor\'s token session', () => {
  it('[EM4] asks tokenProvider on connect, reuses a fresh token on reconnect, asks again once per refusal streak and 30 s before exp', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
    try {
      const asked: TokenReason[] = []
      let renewed = 0
      const sources: TokenSources = {
        document: 'plan',
        token: null,
        tokenUrl: null,
        tokenProvider: async ({ reason }) => {
          asked.push(reason)
          return jwt(Math.floor(Date.now() / 1000) + 60)
        },
      }
      const session = new TokenSession(() => sources, { renewed: () => renewed++, failed: assert.fail })
      const first = await session.next()
      assert.equal(await session.next(), first)
      assert.deepEqual(asked, ['connect'])

      assert.equal(session.refused(), true)
      await session.next()
      assert.equal(session.refused(), false, 'a second refusal in a row is the page\'s to resolve')
      session.accepted()
      assert.equal(session.refused(), true)
      await session.next()
      assert.deepEqual(asked, ['connect', 'auth-failed', 'auth-failed'])

      mock.timers.tick(29_999)
      assert.deepEqual(asked, ['connect', 'auth-failed', 'auth-failed'])
      mock.timers.tick(1)
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepEqual(asked, ['connect', 'auth-failed', 'auth-failed', 'expiring'])
      assert.equal(renewed, 1)
      session.dispose()
    } finally {
      mock.timers.reset()
    }
  })

  it('[EM4] with only a token attribute, presents it as it is and never retries', async () => {
    const sources: TokenSources = { document: 'plan', token: 'static', tokenUrl: null, tokenProvider: null }
    const session = new TokenSession(() => sources, { renewed: assert.fail, failed: assert.fail })
    assert.equal(await session.next(), 'static')
    assert.equal(session.refused(), false)
    const events = { renewed: assert.fail, failed: assert.fail }
    assert.equal(new TokenSession(() => ({ ...sources, token: null }), events).renewable, false)
  })

  it('[EM4] a tokenProvider that throws is reported as failed and the provider sees the error', async () => {
    const failures: string[] = []
    const sources: TokenSources = {
      document: 'plan',
      token: null,
      tokenUrl: null,
      tokenProvider: () => Promise.reject(new Error('backend down')),
    }
    const session = new TokenSession(() => sources, {
      renewed: assert.fail,
      failed: (message) => failures.push(message),
    })
    await assert.rejects(session.next(), /backend down/)
    assert.deepEqual(failures, ['No token for plan: Error: backend down'])
  })
})
