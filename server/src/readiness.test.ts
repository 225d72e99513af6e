import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inProcessApp } from './test-support/app.js'
import { ControlledStore } from './test-support/controlled-store.js'

describe('readiness', () => {
  it('[RD1] /readyz writes a canary: a store that reads but cannot write answers 503 with the reason, and 200 once it can', async () => {
    const store = new ControlledStore()
    const app = inProcessApp(store)
    assert.equal((await app.request('/readyz')).status, 200)
    // A full disk: reads still work, writes do not.
    store.failWrites = true
    assert.equal(await store.info('anything'), null)
    const notReady = await app.request('/readyz')
    assert.equal(notReady.status, 503)
    const body = (await notReady.json()) as { status: string, error: string }
    assert.equal(body.status, 'unavailable')
    assert.match(body.error, /canary.*failing on purpose/)
    store.failWrites = false
    assert.equal((await app.request('/readyz')).status, 200)
    await store.close()
  })
})
