import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'

/** What one delivery is signed over: the message id, when it was sent, and the exact body bytes. */
export interface SignedMessage {
  /** Stays the same across retries of one event, so receivers can drop duplicates. */
  readonly id: string
  readonly timestamp: Date
  readonly body: string
}

/**
 * A fresh endpoint secret in the Standard Webhooks format (`whsec_` + base64 of 32 random
 * bytes), which receivers paste as-is into any Standard Webhooks library to verify us.
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/**
 * The headers of one delivery, signed per Standard Webhooks (HMAC-SHA256 over
 * `id.timestamp.body`). The signing is left to the `standardwebhooks` library so that what
 * we send is by construction what its verifiers in every language accept.
 */
export function signedHeaders(secret: string, message: SignedMessage): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(message.id, message.timestamp, message.body),
  }
}
