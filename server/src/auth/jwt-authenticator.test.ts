import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mintToken, TEST_SECRET } from '../test-support/tokens.js'
import { covers, coversAll, mayAccess } from './authorize.js'
import { JwtAuthenticator } from './jwt-authenticator.js'
import { OpenAuthenticator } from './open-authenticator.js'
import { AuthenticationError } from './principal.js'

describe('tokens', () => {
  const authenticator = new JwtAuthenticator(TEST_SECRET)

  it('[TK1] a valid HS256 token gives its principal', async () => {
    const token = await mintToken({ sub: 'u1', name: 'Ada', docs: ['team-*'], role: 'read' })
    const principal = await authenticator.authenticate(token)
    assert.equal(principal.user, 'u1')
    assert.equal(principal.name, 'Ada')
    assert.deepEqual(principal.documents, ['team-*'])
    assert.equal(principal.role, 'read')
    assert.ok(principal.expiresAt !== null && principal.expiresAt.getTime() > Date.now())
  })

  it('[TK2] no token, garbage, a wrong secret, another alg or an expired token are refused', async () => {
    const refused: Array<[string, string | null]> = [
      ['none', null],
      ['empty', ''],
      ['garbage', 'not-a-token'],
      ['wrong secret', await mintToken({ secret: 'another-secret-that-is-also-long-enough!' })],
      ['HS512', await mintToken({ alg: 'HS512' })],
      ['expired', await mintToken({ expiresIn: -10 })],
      ['alg none', unsignedToken()],
    ]
    for (const [what, token] of refused) {
      await assert.rejects(authenticator.authenticate(token), AuthenticationError, what)
    }
    await assert.rejects(authenticator.authenticate(await mintToken({ expiresIn: -10 })), /expired/)
  })

  it('[TK3] the role defaults to write; a token without docs is refused', async () => {
    const { SignJWT } = await import('jose')
    const key = new TextEncoder().encode(TEST_SECRET)
    const noRole = await new SignJWT({ docs: ['a'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').sign(key)
    assert.equal((await authenticator.authenticate(noRole)).role, 'write')
    const noDocs = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').sign(key)
    await assert.rejects(authenticator.authenticate(noDocs), /docs/)
  })

  it('[TK4] docs globs and roles decide access', async () => {
    const reader = await authenticator.authenticate(await mintToken({ docs: ['team-*', 'notes'], role: 'read' }))
    assert.ok(mayAccess(reader, 'team-alpha', 'read'))
    assert.ok(mayAccess(reader, 'notes', 'read'))
    assert.ok(!mayAccess(reader, 'team-alpha', 'write'))
    assert.ok(!mayAccess(reader, 'notes-2', 'read'))
    assert.ok(!mayAccess(reader, 'xteam-alpha', 'read'))
    const admin = await authenticator.authenticate(await mintToken({ docs: ['*'], role: 'admin' }))
    assert.ok(mayAccess(admin, 'anything', 'admin') && coversAll(admin))
    assert.ok(covers(['a.b'], 'a.b') && !covers(['a.b'], 'axb'), 'a dot is not a wildcard')
  })

  it('[TK5] open mode lets everyone write every document', async () => {
    const principal = await new OpenAuthenticator().authenticate()
    assert.ok(mayAccess(principal, 'any', 'write'))
    assert.ok(!mayAccess(principal, 'any', 'admin'))
  })
})

function unsignedToken(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none' })}.${part({ sub: 'u', docs: ['*'], role: 'admin' })}.`
}
