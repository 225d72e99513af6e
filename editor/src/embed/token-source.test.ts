import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RENEW_BEFORE_EXPIRY_MS, renewalDelay, tokenExpiry } from './token-source.js'

function jwt(payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'HS256' })}.${part(payload)}.signature`
}

describe('the embedded editor\'s token renewal', () => {
  it('[EM4] reads a JWT\'s exp without verifying it, and none from an opaque token', () => {
    assert.equal(tokenExpiry(jwt({ exp: 1_900_000_000, name: 'Ådä ✓' })), 1_900_000_000_000)
    assert.equal(tokenExpiry(jwt({ name: 'no exp' })), null)
    assert.equal(tokenExpiry('opaque-token'), null)
    assert.equal(tokenExpiry('a.%%%.c'), null)
  })

  it('[EM4] renews 30 s before expiry, at once when that moment has passed', () => {
    assert.equal(renewalDelay(100_000, 0), 100_000 - RENEW_BEFORE_EXPIRY_MS)
    assert.equal(renewalDelay(10_000, 0), 0)
  })
})
