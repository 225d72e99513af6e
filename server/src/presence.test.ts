import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Presence, REMOVAL_MEMORY_MS } from './presence.js'

describe('Presence', () => {
  it('[PS1] a removal refuses older states for a while, then the client id is forgotten', () => {
    let time = 0
    const presence = new Presence(() => time)
    presence.apply([{ clientId: 7, clock: 3, state: '{"name":"Ada"}' }])
    presence.remove([7])
    assert.deepEqual(presence.apply([{ clientId: 7, clock: 3, state: '{"late":true}' }]), [], 'a late state came back')
    time += REMOVAL_MEMORY_MS + 1
    presence.apply([])
    assert.equal(presence.size, 0, 'the removal is still remembered')
  })

  it('[PS2] a document whose clients come and go keeps a bounded number of records', () => {
    let time = 0
    const presence = new Presence(() => time)
    for (let clientId = 0; clientId < 10_000; clientId++) {
      time += 100
      presence.apply([{ clientId, clock: 1, state: '{}' }])
      presence.remove([clientId])
    }
    assert.deepEqual(presence.current(), [])
    assert.ok(presence.size <= REMOVAL_MEMORY_MS / 100 + 1, `${presence.size} records for nobody present`)
  })

  it('[PS3] a state set again after a removal is kept, whatever the time', () => {
    let time = 0
    const presence = new Presence(() => time)
    presence.apply([{ clientId: 1, clock: 1, state: '{}' }])
    presence.remove([1])
    presence.apply([{ clientId: 1, clock: 5, state: '{"back":true}' }])
    time += 10 * REMOVAL_MEMORY_MS
    presence.apply([])
    assert.deepEqual(presence.current(), [{ clientId: 1, clock: 5, state: '{"back":true}' }])
  })
})
