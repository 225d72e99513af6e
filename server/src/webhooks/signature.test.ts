import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { newWebhookSecret, signedHeaders } from './signature.js'

const body = JSON.stringify({ type: 'document.updated', data: { document: 'notes' } })

describe('webhook signature', () => {
  it('[WH1] a receiver using the Standard Webhooks library verifies what we sign', () => {
    const secret = newWebhookSecret()
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.notEqual(newWebhookSecret(), secret, 'two secrets were the same')
    const headers = signedHeaders(secret, { id: 'msg_1', timestamp: new Date(), body })
    assert.equal(headers['content-type'], 'application/json')
    assert.equal(headers['webhook-id'], 'msg_1')
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body))
  })

  it('[WH2] a tampered body, a wrong secret and an old timestamp fail verification', () => {
    const secret = newWebhookSecret()
    const fresh = signedHeaders(secret, { id: 'msg_2', timestamp: new Date(), body })
    const receiver = new Webhook(secret)
    assert.throws(() => receiver.verify(body.replace('notes', 'other'), fresh), WebhookVerificationError)
    assert.throws(() => new Webhook(newWebhookSecret()).verify(body, fresh), WebhookVerificationError)
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000)
    const old = signedHeaders(secret, { id: 'msg_2', timestamp: tenMinutesAgo, body })
    assert.throws(() => receiver.verify(body, old), /too old/)
  })
})
