import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, loadConfig, readTlsFiles } from './config.js'
import { selfSignedCertificate } from './test-support/tls.js'

/** A Standard Webhooks secret (whsec_ and base64 of 32 bytes). */
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`

describe('configuration', () => {
  it('[CF1] defaults match DESIGN.md', () => {
    const config = loadConfig({})
    assert.equal(config.PORT, 1234)
    assert.equal(config.HOST, '127.0.0.1')
    assert.equal(config.DATA_DIR, './data')
    assert.equal(config.MAX_MESSAGE_BYTES, 16 * 1024 * 1024)
    assert.equal(config.LOG_LEVEL, 'info')
    assert.equal(config.UNLOAD_DELAY_MS, 30_000)
    assert.equal(config.VERSION_RETENTION, undefined)
  })

  it('[CF2] reads values and treats empty ones as unset', () => {
    const config = loadConfig({ PORT: '8080', HOST: '0.0.0.0', LOG_LEVEL: 'debug', DATA_DIR: '', MAX_CONNECTIONS: '500' })
    assert.equal(config.PORT, 8080)
    assert.equal(config.MAX_CONNECTIONS, 500)
    assert.equal(loadConfig({ VERSION_RETENTION: '50' }).VERSION_RETENTION, 50)
    assert.equal(config.HOST, '0.0.0.0')
    assert.equal(config.LOG_LEVEL, 'debug')
    assert.equal(config.DATA_DIR, './data')
  })

  it('[CF4] tokens, origins and anonymous production', () => {
    const secret = 'x'.repeat(32)
    const config = loadConfig({ AUTH_SECRET: secret, ALLOWED_ORIGINS: 'https://a.example, http://localhost:5173' })
    assert.equal(config.AUTH_SECRET, secret)
    assert.deepEqual(config.ALLOWED_ORIGINS, new Set(['https://a.example', 'http://localhost:5173']))
    assert.equal(loadConfig({ NODE_ENV: 'production', ALLOW_ANONYMOUS: 'true' }).ALLOW_ANONYMOUS, true)
    assert.equal(loadConfig({ NODE_ENV: 'production', AUTH_SECRET: secret }).NODE_ENV, 'production')
  })

  it('[CF6] SYNC_WRITES is true unless set to false, and nothing else', () => {
    assert.equal(loadConfig({}).SYNC_WRITES, true)
    assert.equal(loadConfig({ SYNC_WRITES: 'true' }).SYNC_WRITES, true)
    assert.equal(loadConfig({ SYNC_WRITES: 'false' }).SYNC_WRITES, false)
    assert.throws(() => loadConfig({ SYNC_WRITES: 'no' }), (error: Error) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.message, 'SYNC_WRITES must be true or false (got "no")')
      return true
    })
  })

  it('[CF5] FRAME_ANCESTORS is a list of origins; METRICS_TOKEN a secret of 16 characters or more', () => {
    const config = loadConfig({ FRAME_ANCESTORS: 'https://app.example, http://localhost:5173', METRICS_TOKEN: 'm'.repeat(16) })
    assert.deepEqual(config.FRAME_ANCESTORS, new Set(['https://app.example', 'http://localhost:5173']))
    assert.equal(config.METRICS_TOKEN, 'm'.repeat(16))
    assert.equal(loadConfig({}).FRAME_ANCESTORS, undefined)
    assert.throws(() => loadConfig({ FRAME_ANCESTORS: `'self'` }), /^ConfigError: FRAME_ANCESTORS must be origins/)
    assert.throws(() => loadConfig({ FRAME_ANCESTORS: 'https://a.example/embed' }), /^ConfigError: FRAME_ANCESTORS must be origins/)
    // The secret itself is never printed.
    assert.throws(() => loadConfig({ METRICS_TOKEN: 'short-secret' }), /^ConfigError: METRICS_TOKEN must be at least 16 characters$/)
  })

  it('[CF3] a bad value is one line naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'abc' }, /^PORT must be a number \(got "abc"\)$/],
      [{ PORT: '70000' }, /^PORT must be between 0 and 65535/],
      [{ MAX_MESSAGE_BYTES: '-1' }, /^MAX_MESSAGE_BYTES must be positive/],
      [{ MAX_CONNECTIONS: '0' }, /^MAX_CONNECTIONS must be positive/],
      [{ VERSION_RETENTION: '0' }, /^VERSION_RETENTION must be positive \(got "0"\)$/],
      [{ VERSION_RETENTION: 'ten' }, /^VERSION_RETENTION must be a number/],
      [{ VERSION_RETENTION: '2.5' }, /^VERSION_RETENTION must be an integer/],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
      [{ REDIS_URL: 'redis://x' }, /^REDIS_URL needs DATABASE_URL/],
      [{ DATABASE_URL: 'mysql://root:hunter2@db/test' }, /^DATABASE_URL must be a URL like postgres:/],
      [{ DATABASE_URL: 'postgres://u@db/t', REDIS_URL: 'http://cache:6379' }, /^REDIS_URL must be a URL like redis:/],
      [{ AUTH_SECRET: 'short' }, /^AUTH_SECRET must be at least 32 characters$/],
      [{ ALLOWED_ORIGINS: 'https://ok.example,not a url' }, /^ALLOWED_ORIGINS must be origins/],
      [{ ALLOWED_ORIGINS: 'https://ok.example/path' }, /^ALLOWED_ORIGINS must be origins/],
      [{ ALLOW_ANONYMOUS: 'yes' }, /^ALLOW_ANONYMOUS must be true or false/],
      [{ NODE_ENV: 'production' }, /^AUTH_SECRET is required when NODE_ENV=production/],
      [{ WEBHOOK_URL: 'https://hooks.example.com/t' }, /^WEBHOOK_SECRET is missing: WEBHOOK_URL is set/],
      [{ WEBHOOK_SECRET: SECRET }, /^WEBHOOK_URL is missing: WEBHOOK_SECRET is set/],
      [{ WEBHOOK_URL: 'https://hooks.example.com/t', WEBHOOK_SECRET: 'hunter2-plain' }, /^WEBHOOK_SECRET must be a Standard Webhooks secret/],
      [{ WEBHOOK_URL: 'ftp://hooks.example.com/t', WEBHOOK_SECRET: SECRET }, /^WEBHOOK_URL must be a URL like https:/],
      [{ WEBHOOK_URL: 'http://127.0.0.1:8080/t', WEBHOOK_SECRET: SECRET }, /^WEBHOOK_URL is refused: 127\.0\.0\.1 is in the loopback range/],
      [{ WEBHOOK_URL: 'http://10.0.0.5/t', WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'maybe' }, /^WEBHOOK_ALLOW_PRIVATE must be true or false/],
      [{ PUBLIC_URL: 'tandem.example.com' }, /^PUBLIC_URL must be a URL like https:/],
    ]
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError)
          assert.match(error.message, message)
          assert.ok(!error.message.includes('\n'))
          assert.ok(!error.message.includes('hunter2'), 'a password in a URL is never printed')
          return true
        },
      )
    }
  })

  it('[CF7] WEBHOOK_URL and WEBHOOK_SECRET come together; a private WEBHOOK_URL needs WEBHOOK_ALLOW_PRIVATE', () => {
    const config = loadConfig({ WEBHOOK_URL: 'http://10.0.0.5/t', WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true', PUBLIC_URL: 'https://tandem.example.com' })
    assert.deepEqual([config.WEBHOOK_URL, config.WEBHOOK_ALLOW_PRIVATE, config.PUBLIC_URL], ['http://10.0.0.5/t', true, 'https://tandem.example.com'])
    assert.equal(loadConfig({}).WEBHOOK_ALLOW_PRIVATE, false)
  })

  it('[TL1] TLS_CERT_FILE and TLS_KEY_FILE come together or not at all', () => {
    const both = loadConfig({ TLS_CERT_FILE: '/etc/tandem/cert.pem', TLS_KEY_FILE: '/etc/tandem/key.pem' })
    assert.equal(both.TLS_CERT_FILE, '/etc/tandem/cert.pem')
    assert.equal(both.TLS_KEY_FILE, '/etc/tandem/key.pem')
    assert.equal(readTlsFiles(loadConfig({})), undefined)
    for (const [given, missing] of [['TLS_CERT_FILE', 'TLS_KEY_FILE'], ['TLS_KEY_FILE', 'TLS_CERT_FILE']] as const) {
      assert.throws(
        () => loadConfig({ [given]: '/etc/tandem/file.pem', [missing]: ' ' }),
        (error: unknown) => error instanceof ConfigError
          && error.message.startsWith(`${missing} is missing`)
          && error.message.includes(given)
          && !error.message.includes('\n'),
      )
    }
  })

  it('[TL2] the TLS files are read and checked: unreadable, not PEM or a key of another certificate is one line naming the variable and the cause', async () => {
    const certificate = await selfSignedCertificate()
    const other = await selfSignedCertificate()
    const garbage = join(certificate.directory, 'garbage.pem')
    await writeFile(garbage, 'not PEM at all\n')
    const good = readTlsFiles({ TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile })
    assert.deepEqual(good?.cert, certificate.cert)
    assert.match(good!.key.toString(), /PRIVATE KEY/)
    const cases: Array<[string, string, RegExp]> = [
      [join(certificate.directory, 'absent.pem'), certificate.keyFile, /^TLS_CERT_FILE \S+absent\.pem cannot be read: ENOENT/],
      [certificate.certFile, join(certificate.directory, 'absent.pem'), /^TLS_KEY_FILE \S+absent\.pem cannot be read: ENOENT/],
      [garbage, certificate.keyFile, /^TLS_CERT_FILE \S+garbage\.pem is not a PEM certificate: \S/],
      [certificate.keyFile, certificate.keyFile, /^TLS_CERT_FILE \S+key\.pem is not a PEM certificate: \S/],
      [certificate.certFile, certificate.certFile, /^TLS_KEY_FILE \S+cert\.pem is not a PEM private key: \S/],
      [certificate.certFile, other.keyFile, /^TLS_KEY_FILE \S+ is not the key of the certificate in /],
    ]
    for (const [certFile, keyFile, message] of cases) {
      assert.throws(
        () => readTlsFiles({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile }),
        (error: unknown) => error instanceof ConfigError && message.test(error.message) && !error.message.includes('\n'),
        `${certFile} with ${keyFile}`,
      )
    }
    await certificate.dispose()
    await other.dispose()
  })
})
