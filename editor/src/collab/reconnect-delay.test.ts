import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_UNSAVED_BACKOFF_MS, nextReconnectDelay, QUICK_RECONNECT_MS } from './reconnect-delay.js'

describe('the editor\'s reconnect delay', () => {
  it('[ED1] backs off while the server cannot save (1011, 1013), and is quick again once a close says otherwise', () => {
    let delay = QUICK_RECONNECT_MS
    const waits: number[] = []
    for (let i = 0; i < 8; i++) {
      delay = nextReconnectDelay(1011, delay)
      waits.push(delay)
    }
    const max = MAX_UNSAVED_BACKOFF_MS
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16_000, max, max, max])
    assert.equal(nextReconnectDelay(1013, QUICK_RECONNECT_MS), 1000)
    assert.equal(nextReconnectDelay(1006, delay), QUICK_RECONNECT_MS)
    assert.equal(nextReconnectDelay(1001, delay), QUICK_RECONNECT_MS)
  })
})
