import assert from 'node:assert/strict'
import type { LookupAddress } from 'node:dns'
import { describe, it } from 'node:test'
import { checkWebhookUrl, guardedLookup, WebhookTargetError } from './target-guard.js'

const REFUSED_HOSTS = [
  '127.0.0.1', '127.255.0.9', '[::1]', // loopback
  '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '[fc00::1]', '[fd12:3456::1]', // private
  '169.254.169.254', '[fe80::1]', // link-local (cloud metadata lives here)
  '0.0.0.0', '[::]', // unspecified
  '100.64.0.1', '100.127.255.254', // CGNAT
  '224.0.0.1', '[ff02::1]', // multicast
  '255.255.255.255', // broadcast
  '[::ffff:127.0.0.1]', '[::ffff:10.0.0.1]', '[::ffff:a9fe:a9fe]', // IPv4-mapped
  '2130706433', '0x7f.1', // other spellings of 127.0.0.1
  'localhost', 'LOCALHOST', 'localhost.', 'api.localhost',
]
const PUBLIC_HOSTS = ['example.com', '93.184.216.34', '172.32.0.1', '100.128.0.1', '[2606:4700::1111]', '[::ffff:8.8.8.8]']

function lookupAll(hostname: string, allowPrivate: boolean): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    guardedLookup({ allowPrivate })(hostname, { all: true }, (error, addresses) => {
      if (error) reject(error)
      else resolve(addresses as LookupAddress[])
    })
  })
}

function lookupOne(hostname: string): Promise<{ address: string, family: number | undefined }> {
  return new Promise((resolve, reject) => {
    guardedLookup({ allowPrivate: true })(hostname, { family: 4 }, (error, address, family) => {
      if (error) reject(error)
      else resolve({ address: address as string, family })
    })
  })
}

describe('webhook target guard', () => {
  it('[WH3] URLs to this machine or private networks are refused, public ones kept', () => {
    for (const host of REFUSED_HOSTS) {
      assert.throws(() => checkWebhookUrl(`https://${host}/hook`, { allowPrivate: false }), WebhookTargetError, host)
    }
    for (const host of PUBLIC_HOSTS) {
      assert.equal(checkWebhookUrl(`https://${host}/hook`, { allowPrivate: false }).pathname, '/hook', host)
    }
    assert.throws(() => checkWebhookUrl('http://[::ffff:7f00:1]/', { allowPrivate: false }), /loopback range/)
    assert.throws(() => checkWebhookUrl('http://[fe80::1]/', { allowPrivate: false }), /link local range/)
  })

  it('[WH3] other schemes, credentials and unparsable URLs are refused even when private hosts are allowed', () => {
    const allowPrivate = { allowPrivate: true }
    assert.throws(() => checkWebhookUrl('ftp://example.com/', allowPrivate), /ftp: URLs are not allowed/)
    assert.throws(() => checkWebhookUrl('file:///etc/passwd', allowPrivate), WebhookTargetError)
    assert.throws(() => checkWebhookUrl('https://user:pass@example.com/', allowPrivate), /credentials/)
    assert.throws(() => checkWebhookUrl('https://token@example.com/', allowPrivate), /credentials/)
    assert.throws(() => checkWebhookUrl('not a url', allowPrivate), /not a valid URL/)
    for (const host of REFUSED_HOSTS) {
      assert.equal(checkWebhookUrl(`http://${host}:8080/`, allowPrivate).port, '8080', host)
    }
  })

  it('[WH4] a name that resolves to a refused address fails at lookup, unless private hosts are allowed', async () => {
    await assert.rejects(lookupAll('localhost', false), (error: Error) => {
      assert.ok(error instanceof WebhookTargetError)
      assert.match(error.message, /^localhost resolves to (127\.0\.0\.1|::1), in the loopback range$/)
      return true
    })
    const addresses = await lookupAll('localhost', true)
    assert.ok(addresses.some(({ address }) => address === '127.0.0.1'), JSON.stringify(addresses))
    assert.deepEqual(await lookupOne('localhost'), { address: '127.0.0.1', family: 4 })
    await assert.rejects(lookupAll('no-such-host.invalid', true), (error) => !(error instanceof WebhookTargetError))
  })
})
