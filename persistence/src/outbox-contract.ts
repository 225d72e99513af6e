import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { describe, it } from 'node:test'
import type { DocumentStore } from './document-store.js'
import { DocumentDeletedError, StoreError } from './document-store.js'
import type { AttemptResult, OutboxEvent, OutboxEventType, OutboxRecord, WebhookEndpoint } from './outbox.js'
import { EDITORS_LIMIT, SETTLED_KEPT } from './outbox.js'
import { editedDocument } from './store-contract.js'

/** A fresh, empty store for one test. */
export interface OutboxFixture {
  readonly store: DocumentStore
  /**
   * Closes the store and opens a new one on the same storage; null for a store that keeps
   * nothing past close, whose suite has no [OB13].
   */
  readonly reopen: (() => Promise<DocumentStore>) | null
  /** Another store on the same storage (another instance); null when there is none ([OB14]). */
  readonly second: (() => Promise<DocumentStore>) | null
  /** Closes every store the fixture opened and removes their storage. */
  dispose(): Promise<void>
}

/** Tandem's coalescing of `document.updated`. */
const due = { quietMs: 2000, maxWaitMs: 10_000 }
const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const at = (ms: number): Date => new Date(T0 + ms)
const everywhere = (endpoints: readonly string[]) => (): readonly string[] => endpoints

/**
 * The rules every store's outbox keeps. A store's test file calls this with a factory that
 * gives each test a store of its own (claims and depth see the whole outbox).
 */
export function describeOutbox(
  name: string,
  create: () => Promise<OutboxFixture>,
  can: { readonly reopen: boolean, readonly share: boolean },
): void {
  describe(`${name} keeps the Outbox contract`, () => {
    /** A fixture disposed when the test ends, passed or failed. */
    async function fixtureFor(t: TestContext): Promise<OutboxFixture> {
      const fixture = await create()
      t.after(() => fixture.dispose())
      return fixture
    }

    it('[OB1] records written by append, saveVersion and delete become one delivery per routed endpoint', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      await outbox.saveEndpoint(endpoint('b', 2))
      const { updates } = editedDocument(3)
      await store.append('ob1', updates.slice(0, 1), [
        record('document.created', 'ob1', 0, ['ann']),
        record('document.updated', 'ob1', 0, ['ann']),
      ])
      await store.append('ob1', updates.slice(1), [record('document.updated', 'ob1', 500, ['bob'])])
      const version = await store.saveVersion('ob1', { label: 'v', author: 'ann', state: updates[0]! }, {
        records: [{ ...record('version.created', 'ob1', 600, ['ann']), data: { label: 'v' } }],
      })
      await store.delete('ob1', [record('document.deleted', 'ob1', 700, ['cy'])])
      const routed: OutboxEvent[] = []
      const route = (event: OutboxEvent) => {
        routed.push(event)
        return event.type === 'version.created' ? ['a'] : ['a', 'b', 'no-such-endpoint']
      }
      // Before the update marker is due, the other three go.
      assert.equal(await outbox.promote(at(1000), due, route), 3)
      assert.equal(await outbox.promote(at(2600), due, route), 1)
      assert.equal(await outbox.promote(at(60_000), due, route), 0)
      assert.deepEqual(routed.map((event) => event.type), [
        'document.created', 'version.created', 'document.deleted', 'document.updated',
      ])
      assert.equal(new Set(routed.map((event) => event.id)).size, 4)
      const updated = routed[3]!
      assert.equal(updated.document, 'ob1')
      assert.deepEqual(updated.at, at(500))
      assert.deepEqual(updated.editors, ['ann', 'bob'])
      assert.equal(updated.data.firstAt, at(0).toISOString())
      assert.equal(updated.data.lastAt, at(500).toISOString())
      // saveVersion's records say which version it saved.
      assert.deepEqual(routed[1]!.data, { label: 'v', version: version.id })
      const toA = await outbox.listDeliveries('a', 10)
      const toB = await outbox.listDeliveries('b', 10)
      assert.deepEqual(toA.map((delivery) => delivery.event.type).sort(), [
        'document.created', 'document.deleted', 'document.updated', 'version.created',
      ])
      assert.deepEqual(toB.map((delivery) => delivery.event.type).sort(), [
        'document.created', 'document.deleted', 'document.updated',
      ])
      for (const delivery of [...toA, ...toB]) {
        assert.equal(delivery.status, 'pending')
        assert.equal(delivery.attempts, 0)
        assert.deepEqual(delivery.event, routed.find((event) => event.id === delivery.event.id))
      }
      assert.equal(new Set([...toA, ...toB].map((delivery) => delivery.id)).size, 7)
    })

    it('[OB2] an append that is refused stores none of its records', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      await assert.rejects(
        store.append('ob2', [new Uint8Array([255, 255, 255])], [record('document.created', 'ob2', 0)]),
        StoreError,
      )
      const { updates } = editedDocument(2)
      await store.append('ob2-gone', updates.slice(0, 1))
      await store.delete('ob2-gone')
      await assert.rejects(
        store.append('ob2-gone', updates.slice(1), [record('document.updated', 'ob2-gone', 0)]),
        DocumentDeletedError,
      )
      await assert.rejects(outbox.record([record('document.nonsense' as OutboxEventType, 'ob2', 0)]), StoreError)
      assert.equal(await outbox.depth(), 0)
      assert.equal(await outbox.promote(at(60_000), due, everywhere(['a'])), 0)
      assert.deepEqual(await outbox.listDeliveries('a', 10), [])
    })

    it('[OB3] document.updated records wait for a quiet period, then go as one event', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      const { updates } = editedDocument(3)
      for (const [index, ms] of [0, 1000, 1500].entries()) {
        await store.append('ob3', [updates[index]!], [record('document.updated', 'ob3', ms)])
      }
      assert.equal(await outbox.promote(at(3000), due, everywhere(['a'])), 0)
      assert.equal(await outbox.promote(at(3499), due, everywhere(['a'])), 0)
      assert.equal(await outbox.promote(at(3500), due, everywhere(['a'])), 1)
      const [delivery] = await outbox.listDeliveries('a', 10)
      assert.deepEqual(delivery!.event.at, at(1500))
      assert.equal(delivery!.event.data.firstAt, at(0).toISOString())
      assert.equal(delivery!.event.data.lastAt, at(1500).toISOString())
    })

    it('[OB4] while records keep coming, a document.updated event goes once its first record is maxWait old', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      let promoted = 0
      for (let ms = 0; ms <= 15_000; ms += 1000) {
        await outbox.record([record('document.updated', 'ob4', ms)])
        promoted += await outbox.promote(at(ms), due, everywhere(['a']))
        // The record of 10 s is promoted with the first nine, and 11 s starts the next event.
        assert.equal(promoted, ms >= 10_000 ? 1 : 0, `promoted by ${ms} ms`)
      }
      assert.equal(await outbox.promote(at(20_000), due, everywhere(['a'])), 1)
      const [second, first] = await outbox.listDeliveries('a', 10)
      assert.deepEqual([first!.event.data.firstAt, first!.event.data.lastAt], [at(0), at(10_000)].map(iso))
      assert.deepEqual(
        [second!.event.data.firstAt, second!.event.data.lastAt],
        [at(11_000), at(15_000)].map(iso),
      )
    })

    it('[OB5] a document.updated event names every editor once, in order, at most EDITORS_LIMIT', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      const many = Array.from({ length: 30 }, (_, index) => `editor ${index}`)
      await outbox.record([record('document.updated', 'ob5', 0, ['ann', 'bob'])])
      await outbox.record([
        record('document.updated', 'ob5', 100, ['bob', 'cy']),
        record('document.updated', 'ob5-other', 100, ['zed']),
      ])
      await outbox.record([record('document.updated', 'ob5', 200, ['ann', ...many])])
      assert.equal(await outbox.promote(at(5000), due, everywhere(['a'])), 2)
      const events = (await outbox.listDeliveries('a', 10)).map((delivery) => delivery.event)
      const ob5 = events.find((event) => event.document === 'ob5')!
      assert.deepEqual(ob5.editors, ['ann', 'bob', 'cy', ...many].slice(0, EDITORS_LIMIT))
      assert.deepEqual(events.find((event) => event.document === 'ob5-other')!.editors, ['zed'])
    })

    it('[OB6] a record after its marker was promoted starts a new marker', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      const { updates } = editedDocument(2)
      await store.append('ob6', [updates[0]!], [record('document.updated', 'ob6', 0, ['ann'])])
      assert.equal(await outbox.promote(at(3000), due, everywhere(['a'])), 1)
      await store.append('ob6', [updates[1]!], [record('document.updated', 'ob6', 3100, ['bob'])])
      assert.equal(await outbox.depth(), 2)
      assert.equal(await outbox.promote(at(3200), due, everywhere(['a'])), 0)
      assert.equal(await outbox.promote(at(5100), due, everywhere(['a'])), 1)
      const [newer, older] = await outbox.listDeliveries('a', 10)
      assert.deepEqual(older!.event.editors, ['ann'])
      assert.deepEqual(newer!.event.editors, ['bob'])
      assert.equal(newer!.event.data.firstAt, at(3100).toISOString())
      assert.notEqual(newer!.event.id, older!.event.id)
    })

    it('[OB7] claim leases deliveries; settle delivers, reschedules or fails them; retry sends one again', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      await outbox.saveEndpoint(endpoint('b', 2))
      await outbox.record([record('document.created', 'ob7', 0)])
      await outbox.promote(at(0), due, everywhere(['a', 'b']))
      assert.deepEqual(await outbox.claim(at(-1), 10, 30_000), [], 'not due before it was promoted')
      const claimed = await outbox.claim(at(0), 10, 30_000)
      assert.equal(claimed.length, 2)
      assert.deepEqual(claimed.map((delivery) => delivery.attempts), [0, 0])
      assert.deepEqual(claimed.map((delivery) => delivery.endpointId).sort(), ['a', 'b'])
      assert.equal(claimed[0]!.event.type, 'document.created')
      assert.deepEqual(await outbox.claim(at(29_999), 10, 30_000), [], 'hidden during the lease')
      // The claimer died: after the lease they are claimed again, one at a time with limit 1.
      const again = await outbox.claim(at(30_000), 1, 30_000)
      assert.equal(again.length, 1)
      assert.equal((await outbox.claim(at(30_000), 10, 30_000)).length, 1)
      const toA = claimed.find((delivery) => delivery.endpointId === 'a')!
      const toB = claimed.find((delivery) => delivery.endpointId === 'b')!

      await outbox.settle(toA.id, { at: at(30_100), ok: true, status: 204, error: null, nextAttemptAt: null })
      const [delivered] = await outbox.listDeliveries('a', 10)
      assert.equal(delivered!.status, 'delivered')
      assert.equal(delivered!.attempts, 1)
      assert.equal(delivered!.lastStatus, 204)
      assert.deepEqual(delivered!.lastAttemptAt, at(30_100))
      assert.equal(delivered!.nextAttemptAt, null)
      assert.deepEqual(delivered!.createdAt, at(0))

      await outbox.settle(toB.id, { at: at(30_100), ok: false, status: 500, error: 'HTTP 500', nextAttemptAt: at(90_000) })
      const [retrying] = await outbox.listDeliveries('b', 10)
      assert.equal(retrying!.status, 'pending')
      assert.equal(retrying!.attempts, 1)
      assert.equal(retrying!.lastError, 'HTTP 500')
      assert.deepEqual(retrying!.nextAttemptAt, at(90_000))
      assert.deepEqual(await outbox.claim(at(89_999), 10, 30_000), [])
      const [second] = await outbox.claim(at(90_000), 10, 30_000)
      assert.equal(second!.id, toB.id, 'a delivery keeps its id across attempts')
      assert.equal(second!.attempts, 1)
      await outbox.settle(toB.id, { at: at(90_100), ok: false, status: null, error: 'ECONNREFUSED', nextAttemptAt: null })
      const [failed] = await outbox.listDeliveries('b', 10)
      assert.equal(failed!.status, 'failed')
      assert.equal(failed!.attempts, 2)
      assert.equal(failed!.lastStatus, null)
      assert.deepEqual(await outbox.claim(at(1_000_000), 10, 30_000), [])

      assert.equal(await outbox.retryDelivery('a', toB.id, at(200_000)), false, 'another endpoint\'s delivery')
      assert.equal(await outbox.retryDelivery('b', 'no-such-delivery', at(200_000)), false)
      assert.equal(await outbox.retryDelivery('b', toB.id, at(200_000)), true)
      assert.deepEqual(await outbox.claim(at(199_999), 10, 30_000), [])
      const [retried] = await outbox.claim(at(200_000), 10, 30_000)
      assert.equal(retried!.id, toB.id)
      assert.equal(retried!.attempts, 2)
      await outbox.settle('no-such-delivery', success(at(0)))
    })

    it('[OB8] endpoints are saved, replaced by id and listed oldest first; deleting one deletes its deliveries', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('late', 3))
      await outbox.saveEndpoint(endpoint('early', 1))
      await outbox.saveEndpoint(endpoint('middle', 2))
      const replaced: WebhookEndpoint = {
        ...endpoint('middle', 2),
        url: 'https://example.com/other',
        events: ['document.deleted'],
        documents: 'team-*',
        format: 'markdown',
        failingSince: at(50),
      }
      await outbox.saveEndpoint(replaced)
      assert.deepEqual(await outbox.listEndpoints(), [endpoint('early', 1), replaced, endpoint('late', 3)])
      await outbox.record([record('document.created', 'ob8', 0)])
      await outbox.promote(at(0), due, everywhere(['early', 'late']))
      assert.equal(await outbox.depth(), 2)
      assert.equal(await outbox.deleteEndpoint('early'), true)
      assert.equal(await outbox.deleteEndpoint('early'), false)
      assert.deepEqual(await outbox.listDeliveries('early', 10), [])
      assert.equal(await outbox.depth(), 1)
      const claimed = await outbox.claim(at(0), 10, 1000)
      assert.deepEqual(claimed.map((delivery) => delivery.endpointId), ['late'])
      assert.deepEqual((await outbox.listEndpoints()).map((saved) => saved.id), ['middle', 'late'])
    })

    it('[OB9] deliveries of a disabled endpoint are not claimed until it is enabled again', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('on', 1))
      await outbox.saveEndpoint({ ...endpoint('off', 2), disabledAt: at(0) })
      await outbox.record([record('document.created', 'ob9', 0)])
      await outbox.promote(at(0), due, everywhere(['on', 'off']))
      const claimed = await outbox.claim(at(0), 10, 1000)
      assert.deepEqual(claimed.map((delivery) => delivery.endpointId), ['on'])
      assert.deepEqual(await outbox.claim(at(5000), 10, 1000).then((list) => list.map((d) => d.endpointId)), ['on'])
      await outbox.saveEndpoint(endpoint('off', 2))
      const enabled = await outbox.claim(at(10_000), 10, 1000)
      assert.deepEqual(enabled.map((delivery) => delivery.endpointId).sort(), ['off', 'on'])
    })

    it('[OB17] resume makes the pending deliveries of one endpoint due at once, and no others', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('back', 1))
      await outbox.saveEndpoint(endpoint('other', 2))
      await outbox.record([record('document.created', 'ob17-a', 0), record('document.created', 'ob17-b', 0)])
      await outbox.promote(at(0), due, everywhere(['back', 'other']))
      const hour = 3_600_000
      // Every attempt fails and is put off an hour, but one delivery of 'back' gives up.
      const claimed = await outbox.claim(at(0), 10, 1000)
      assert.equal(claimed.length, 4)
      const givesUp = claimed.find((delivery) => delivery.endpointId === 'back')!.id
      for (const delivery of claimed) {
        const nextAttemptAt = delivery.id === givesUp ? null : at(hour)
        await outbox.settle(delivery.id, { at: at(10), ok: false, status: 500, error: 'HTTP 500', nextAttemptAt })
      }
      assert.deepEqual(await outbox.claim(at(20), 10, 1000), [])
      assert.equal(await outbox.resume('back', at(20)), 1)
      const resumed = await outbox.claim(at(20), 10, 1000)
      assert.deepEqual(resumed.map((delivery) => delivery.endpointId), ['back'])
      assert.notEqual(resumed[0]!.id, givesUp)
      const failed = (await outbox.listDeliveries('back', 10)).find((delivery) => delivery.id === givesUp)!
      assert.equal(failed.status, 'failed')
      assert.equal(await outbox.resume('nobody', at(20)), 0)
    })

    it('[OB10] listDeliveries is newest first and limited; only the newest SETTLED_KEPT settled ones are kept', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      const count = SETTLED_KEPT + 5
      await outbox.record(Array.from({ length: count }, (_, index) => record('document.created', `ob10-${index}`, index)))
      assert.equal(await outbox.promote(at(0), due, everywhere(['a']), 30), 30)
      assert.equal(await outbox.promote(at(0), due, everywhere(['a']), 1000), count - 30)
      const all = await outbox.listDeliveries('a', 1000)
      assert.equal(all.length, count)
      const ids = all.map((delivery) => delivery.id)
      assert.deepEqual(ids, [...ids].sort().reverse())
      assert.deepEqual(await outbox.listDeliveries('a', 5), all.slice(0, 5))
      // Events are promoted in the order they were recorded.
      assert.deepEqual(all.map((delivery) => delivery.event.document).reverse(),
        Array.from({ length: count }, (_, index) => `ob10-${index}`))
      const claimed = await outbox.claim(at(0), 1000, 60_000)
      assert.equal(claimed.length, count)
      // One left pending: pending deliveries are never dropped to keep the list short.
      const oldest = all[all.length - 1]!
      for (const delivery of claimed) {
        if (delivery.id === oldest.id) continue
        await outbox.settle(delivery.id, success(at(1)))
      }
      const kept = await outbox.listDeliveries('a', 1000)
      assert.equal(kept.length, SETTLED_KEPT + 1)
      assert.deepEqual(kept.slice(0, SETTLED_KEPT).map((delivery) => delivery.id), ids.slice(0, SETTLED_KEPT))
      assert.equal(kept[SETTLED_KEPT]!.id, oldest.id)
      assert.equal(kept[SETTLED_KEPT]!.status, 'pending')
    })

    it('[OB11] depth counts pending deliveries, recorded events and pending markers', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      assert.equal(await outbox.depth(), 0)
      await outbox.saveEndpoint(endpoint('a', 1))
      await outbox.saveEndpoint(endpoint('b', 2))
      await outbox.record([
        record('document.updated', 'ob11-x', 0),
        record('document.updated', 'ob11-x', 10),
        record('document.updated', 'ob11-y', 0),
        record('version.restored', 'ob11-x', 0),
      ])
      assert.equal(await outbox.depth(), 3)
      assert.equal(await outbox.promote(at(5000), due, everywhere(['a', 'b'])), 3)
      assert.equal(await outbox.depth(), 6)
      const [first, second] = await outbox.claim(at(5000), 2, 1000)
      assert.equal(await outbox.depth(), 6, 'claimed deliveries are still pending')
      await outbox.settle(first!.id, success(at(5001)))
      await outbox.settle(second!.id, { at: at(5001), ok: false, status: 410, error: 'gone', nextAttemptAt: null })
      assert.equal(await outbox.depth(), 4)
    })

    it('[OB12] promote routes an event once and drops events routed nowhere', async (t) => {
      const { store } = await fixtureFor(t)
      const { outbox } = store
      await outbox.saveEndpoint(endpoint('a', 1))
      await outbox.record([record('document.created', 'ob12-nowhere', 0), record('document.deleted', 'ob12-twice', 0)])
      const route = (event: OutboxEvent) => (event.document === 'ob12-nowhere' ? [] : ['a', 'a'])
      assert.equal(await outbox.promote(at(0), due, route), 2)
      assert.equal(await outbox.depth(), 1)
      const deliveries = await outbox.listDeliveries('a', 10)
      assert.deepEqual(deliveries.map((delivery) => delivery.event.document), ['ob12-twice'])
    })

    // Only for stores that keep anything past close.
    if (can.reopen) it('[OB13] a persistent store closed and reopened keeps endpoints, records, markers and deliveries', async (t) => {
      const fixture = await fixtureFor(t)
      const store = fixture.store
      await store.outbox.saveEndpoint(endpoint('a', 1))
      const { updates } = editedDocument(2)
      await store.append('ob13', [updates[0]!], [
        record('document.created', 'ob13', 0, ['ann']),
        record('document.updated', 'ob13', 0, ['ann']),
      ])
      await store.outbox.promote(at(0), due, everywhere(['a']))
      const [created] = await store.outbox.claim(at(0), 10, 1000)
      await store.outbox.settle(created!.id, { at: at(1), ok: false, status: 503, error: 'busy', nextAttemptAt: at(5000) })
      // Written as the store closes: an append in the same turn as close.
      const closing = store.append('ob13', [updates[1]!], [record('document.updated', 'ob13', 100, ['bob'])])
      const reopened = await fixture.reopen!()
      await closing
      assert.deepEqual(await reopened.outbox.listEndpoints(), [endpoint('a', 1)])
      assert.equal(await reopened.outbox.depth(), 2)
      const [kept] = await reopened.outbox.listDeliveries('a', 10)
      assert.equal(kept!.id, created!.id)
      assert.equal(kept!.attempts, 1)
      assert.equal(kept!.lastError, 'busy')
      assert.equal(await reopened.outbox.promote(at(5000), due, everywhere(['a'])), 1)
      const [updated] = await reopened.outbox.listDeliveries('a', 10)
      assert.deepEqual(updated!.event.editors, ['ann', 'bob'])
      const claimed = await reopened.outbox.claim(at(5000), 10, 1000)
      assert.deepEqual(claimed.map((delivery) => delivery.event.type).sort(), ['document.created', 'document.updated'])
    })

    // Only for stores that several instances share.
    if (can.share) it('[OB16] two stores that each append what they take for a document\'s first change record one document.created', async (t) => {
      const fixture = await fixtureFor(t)
      const stores = [fixture.store, await fixture.second!()]
      await stores[0]!.outbox.saveEndpoint(endpoint('a', 1))
      const { updates } = editedDocument(2)
      await stores[0]!.append('ob16', [updates[0]!], [record('document.created', 'ob16', 0, ['ann'])])
      await stores[1]!.append('ob16', [updates[1]!], [record('document.created', 'ob16', 100, ['bob'])])
      const routed: OutboxEvent[] = []
      await stores[0]!.outbox.promote(at(60_000), due, (event) => {
        routed.push(event)
        return ['a']
      })
      assert.deepEqual(routed.map((event) => [event.type, event.editors]), [
        ['document.created', ['ann']],
        ['document.updated', ['bob']],
      ])
    })

    // Only for stores that several instances share.
    if (can.share) it('[OB14] two stores on one storage, promoting and claiming at once, deliver each event exactly once', async (t) => {
      const fixture = await fixtureFor(t)
      const stores = [fixture.store, await fixture.second!()]
      await stores[0]!.outbox.saveEndpoint(endpoint('a', 1))
      await stores[1]!.outbox.saveEndpoint(endpoint('b', 2))
      const { updates } = editedDocument(60)
      const documents = 50
      const appends: Array<Promise<void>> = []
      // Created events through both stores, and update records (one editor each) racing the promoters.
      for (let index = 0; index < documents; index++) {
        const store = stores[index % 2]!
        appends.push(store.append(`ob14-${index}`, [updates[index]!], [
          record('document.created', `ob14-${index}`, 0),
          record('document.updated', `ob14-${index % 3}`, index, [`editor ${index}`]),
        ]))
      }
      const delivered = new Map<string, number>()
      let writing = true
      const worker = async (store: DocumentStore, seed: number) => {
        for (let round = 0; ; round++) {
          // The writers' records keep arriving while these promote, and promotion never waits.
          const limit = 3 + (seed + round) % 4
          const promoted = await store.outbox.promote(at(1_000_000), due, everywhere(['a', 'b']), limit)
          const claimed = await store.outbox.claim(at(1_000_000), 5, 60_000)
          for (const delivery of claimed) {
            delivered.set(delivery.id, (delivered.get(delivery.id) ?? 0) + 1)
            await store.outbox.settle(delivery.id, success(at(1_000_001)))
          }
          if (!writing && promoted === 0 && claimed.length === 0) return
        }
      }
      const workers = [worker(stores[0]!, 0), worker(stores[1]!, 1)]
      await Promise.all(appends)
      writing = false
      await Promise.all(workers)
      // A last pass after both workers: nothing left behind by a race at the end.
      assert.equal(await stores[0]!.outbox.promote(at(1_000_000), due, everywhere(['a', 'b'])), 0)
      assert.deepEqual(await stores[1]!.outbox.claim(at(1_000_000), 100, 60_000), [])
      assert.equal(await stores[0]!.outbox.depth(), 0)
      assert.ok([...delivered.values()].every((times) => times === 1), 'no delivery claimed twice in one lease')
      const listed = [
        ...await stores[1]!.outbox.listDeliveries('a', 1000),
        ...await stores[0]!.outbox.listDeliveries('b', 1000),
      ]
      assert.equal(listed.length, delivered.size)
      assert.ok(listed.every((delivery) => delivery.status === 'delivered' && delivery.attempts === 1))
      for (const endpointId of ['a', 'b']) {
        const events = listed
          .filter((delivery) => delivery.endpointId === endpointId)
          .map((delivery) => delivery.event)
        const created = events.filter((event) => event.type === 'document.created').map((event) => event.document)
        assert.equal(created.length, documents, `${endpointId}: one document.created per document`)
        assert.equal(new Set(created).size, documents)
        // Every update record reached some document.updated event: none was lost to a race.
        const editors = events.filter((event) => event.type === 'document.updated').flatMap((event) => event.editors)
        assert.deepEqual([...editors].sort(), Array.from({ length: documents }, (_, index) => `editor ${index}`).sort())
      }
    })
  })
}

function record(
  type: OutboxEventType,
  document: string,
  ms: number,
  editors: readonly string[] = ['someone'],
): OutboxRecord {
  return { type, document, at: at(ms), editors }
}

function endpoint(id: string, createdSecond: number): WebhookEndpoint {
  return {
    id,
    url: `https://example.com/hooks/${id}`,
    events: ['document.created', 'document.updated'],
    documents: null,
    format: null,
    secret: `whsec_${id}`,
    createdAt: new Date(T0 + createdSecond * 1000),
    disabledAt: null,
    failingSince: null,
  }
}

function success(when: Date): AttemptResult {
  return { at: when, ok: true, status: 200, error: null, nextAttemptAt: null }
}

function iso(date: Date): string {
  return date.toISOString()
}
