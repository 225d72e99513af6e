import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DISABLE_AFTER_MS, MAX_DELAY_MS, nextAttemptDelay } from './backoff.js'

const lowest = () => 0
const highest = () => 1 - 2 ** -53

describe('retry backoff', () => {
  it('[WH9] delays double from 5 s up to 1 h, jittered between half the ceiling and the ceiling', () => {
    const ceilingsInSeconds = [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
    for (const [index, seconds] of ceilingsInSeconds.entries()) {
      const attempt = index + 1
      const ceiling = seconds * 1000
      assert.equal(nextAttemptDelay(attempt, null, lowest), ceiling / 2, `attempt ${attempt}`)
      assert.equal(nextAttemptDelay(attempt, null, highest), ceiling, `attempt ${attempt}`)
      assert.equal(nextAttemptDelay(attempt, null, () => 0.5), ceiling * 0.75, `attempt ${attempt}`)
    }
    assert.equal(nextAttemptDelay(10_000, null, highest), MAX_DELAY_MS)
    for (let draw = 0; draw < 1000; draw++) {
      const delay = nextAttemptDelay(3, null)
      assert.ok(delay >= 10_000 && delay <= 20_000, `${delay} ms`)
    }
    assert.throws(() => nextAttemptDelay(0, null), RangeError)
    assert.throws(() => nextAttemptDelay(1.5, null), RangeError)
  })

  it('[WH9] a Retry-After is never undercut, but waits at most 1 h; failing for 3 days disables', () => {
    assert.equal(nextAttemptDelay(1, 120_000, highest), 120_000)
    assert.equal(nextAttemptDelay(1, 0, lowest), 2_500)
    assert.equal(nextAttemptDelay(8, 1000, lowest), 320_000, 'a short Retry-After shortened the backoff')
    assert.equal(nextAttemptDelay(1, 7 * 24 * 3600_000, lowest), MAX_DELAY_MS)
    assert.equal(DISABLE_AFTER_MS, 3 * 24 * 3600_000)
  })
})
