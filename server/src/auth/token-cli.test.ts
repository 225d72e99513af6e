import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, it } from 'node:test'
import { TEST_SECRET } from '../test-support/tokens.js'
import { mayAccess } from './authorize.js'
import { JwtAuthenticator } from './jwt-authenticator.js'

const run = promisify(execFile)
const CLI = fileURLToPath(new URL('./token-cli.ts', import.meta.url))

function mint(args: string[], secret: string | null = TEST_SECRET) {
  const env = { ...process.env, AUTH_SECRET: secret ?? '' }
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], { env })
}

describe('npm run token', () => {
  it('[TK6] mints a token the server accepts, with the asked docs, role, name and lifetime', async () => {
    const { stdout } = await mint(['--docs', 'team-*', '--role', 'read', '--name', 'Ada', '--ttl', '1h'])
    const principal = await new JwtAuthenticator(TEST_SECRET).authenticate(stdout.trim())
    assert.equal(principal.name, 'Ada')
    assert.equal(principal.role, 'read')
    assert.ok(mayAccess(principal, 'team-notes', 'read') && !mayAccess(principal, 'other', 'read'))
    const lifetime = principal.expiresAt!.getTime() - Date.now()
    assert.ok(lifetime > 3500_000 && lifetime <= 3600_000, `lifetime ${lifetime} ms`)
  })

  it('[TK7] refuses without AUTH_SECRET or with a bad role, in one line', async () => {
    await assert.rejects(mint(['--role', 'read'], null), /AUTH_SECRET is not set/)
    await assert.rejects(mint(['--role', 'owner']), /--role must be one of read, write, admin/)
  })
})
