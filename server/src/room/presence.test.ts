import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  MAX_CLIENTS_PER_OWNER,
  MAX_STATE_BYTES,
  Presence,
  REMOVAL_MEMORY_MS,
  STATE_TIMEOUT_MS,
} from './presence.js'

describe('Presence', () => {
  it('[PS1] a removal refuses older states for a while, then the client id is forgotten', () => {
    let time = 0
    const presence = new Presence<string>(() => time)
    presence.apply('ada', [{ clientId: 7, clock: 3, state: '{"name":"Ada"}' }])
    assert.deepEqual(presence.leave('ada'), [{ clientId: 7, clock: 4, state: null }])
    assert.deepEqual(presence.apply('bob', [{ clientId: 7, clock: 3, state: '{"late":true}' }]), [], 'a late state came back')
    time += REMOVAL_MEMORY_MS + 1
    presence.expire()
    assert.equal(presence.size, 0, 'the removal is still remembered')
  })

  it('[PS2] a document whose clients come and go keeps a bounded number of records', () => {
    let time = 0
    const presence = new Presence<number>(() => time)
    for (let clientId = 0; clientId < 10_000; clientId++) {
      time += 100
      presence.apply(clientId, [{ clientId, clock: 1, state: '{}' }])
      presence.leave(clientId)
    }
    assert.deepEqual(presence.current(), [])
    assert.ok(presence.size <= REMOVAL_MEMORY_MS / 100 + 1, `${presence.size} records for nobody present`)
  })

  it('[PS3] a state set again after a removal is kept, whatever the time', () => {
    let time = 0
    const presence = new Presence<string>(() => time)
    presence.apply('ada', [{ clientId: 1, clock: 1, state: '{}' }])
    presence.leave('ada')
    presence.apply('ada again', [{ clientId: 1, clock: 5, state: '{"back":true}' }])
    time += STATE_TIMEOUT_MS - 1
    presence.expire()
    assert.deepEqual(presence.current(), [{ clientId: 1, clock: 5, state: '{"back":true}' }])
  })

  it('[PS4] a state not renewed within 30 s is removed; a renewed one stays', () => {
    let time = 0
    const presence = new Presence<string>(() => time)
    presence.apply('ada', [{ clientId: 1, clock: 1, state: '{"a":1}' }, { clientId: 2, clock: 1, state: '{"b":1}' }])
    time += STATE_TIMEOUT_MS / 2
    presence.apply('ada', [{ clientId: 2, clock: 2, state: '{"b":1}' }])
    assert.deepEqual(presence.expire(), [])
    time += STATE_TIMEOUT_MS / 2
    assert.deepEqual(presence.expire(), [{ clientId: 1, clock: 2, state: null }])
    assert.deepEqual(presence.current().map((entry) => entry.clientId), [2])
  })

  it('[PS5] one connection may show a few small states; past either limit nothing is applied', () => {
    const presence = new Presence<string>()
    const many = Array.from({ length: MAX_CLIENTS_PER_OWNER + 1 }, (_, clientId) => ({ clientId, clock: 1, state: '{}' }))
    assert.throws(() => presence.apply('parker', many), /at most/)
    assert.deepEqual(presence.current(), [])
    presence.apply('parker', many.slice(0, MAX_CLIENTS_PER_OWNER))
    assert.throws(() => presence.apply('parker', [{ clientId: 999, clock: 1, state: '{}' }]), /at most/)
    presence.apply('parker', [{ clientId: 0, clock: 2, state: null }, { clientId: 999, clock: 1, state: '{}' }])
    const big = JSON.stringify({ x: 'y'.repeat(MAX_STATE_BYTES) })
    assert.throws(() => presence.apply('other', [{ clientId: 5000, clock: 1, state: big }]), /larger than/)
    assert.equal(presence.current().length, MAX_CLIENTS_PER_OWNER)
    assert.equal(presence.leave('parker').length, MAX_CLIENTS_PER_OWNER)
  })
})
