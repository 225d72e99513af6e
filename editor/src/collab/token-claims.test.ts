import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { presenceName } from './token-claims.js'

function jwt(payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'HS256' })}.${part(payload)}.signature`
}

describe('the name a token shows in presence, as the editor reads it', () => {
  it('[PI4] is the token\'s name, else its sub; a share link, an opaque token or none names nobody', () => {
    assert.equal(presenceName(jwt({ sub: 'ada', name: 'Ådä Lövelace ✓' })), 'Ådä Lövelace ✓')
    assert.equal(presenceName(jwt({ sub: 'grace' })), 'grace')
    assert.equal(presenceName(jwt({ sub: 'share:ada', docs: ['plan'] })), null)
    assert.equal(presenceName(jwt({ docs: ['plan'] })), null)
    assert.equal(presenceName('opaque-token'), null)
    assert.equal(presenceName('a.%%%.c'), null)
    assert.equal(presenceName(null), null)
  })
})
