import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as prng from 'lib0/prng'
import { eventually, withTimeout } from '../test-support/clients.js'
import type { Bus, BusMessage, InstanceId } from './bus.js'

/** A cluster of buses on one medium, and the ways an instance can fail on it. */
export interface BusFixture<B extends Bus = Bus> {
  /** A new, not yet opened, member of the cluster. */
  create(): Promise<B>
  /** How many messages `bus` has handed to the medium so far. */
  published(bus: B): number
  /** The instance dies (SIGKILL): no close, no goodbye; its liveness just stops. */
  kill(bus: B): Promise<void>
  /** Cuts `bus` off from the medium (the others stay connected). */
  cut(bus: B): Promise<void>
  /** Lets a cut `bus` reconnect. */
  heal(bus: B): Promise<void>
  /** The longest the others may take to get `instanceDown` for a killed instance. */
  readonly downWithinMs: number
  /** The longest the others may take to get `instanceDown` for a closed instance. */
  readonly closedWithinMs: number
  /** Closes every bus created and whatever the medium left behind. */
  dispose(): Promise<void>
}

const WAIT_MS = 5000

/**
 * The rules every `Bus` keeps ([BUS1] …, defined in SPEC.md). A bus's test file calls this
 * with a fixture factory.
 */
export function describeBus<B extends Bus>(name: string, createFixture: () => Promise<BusFixture<B>>): void {
  describe(`${name} keeps the Bus contract`, () => {
    let fixture: BusFixture<B>
    before(async () => {
      fixture = await createFixture()
    })
    after(() => fixture.dispose())

    async function opened(count: number): Promise<B[]> {
      const buses = await Promise.all(Array.from({ length: count }, () => fixture.create()))
      await Promise.all(buses.map((bus) => bus.open()))
      return buses
    }

    it('[BUS1] a message reaches the other instances subscribed to its document, not its publisher, not others', async () => {
      const [a, b, c, d] = await opened(4) as [B, B, B, B]
      const fromA = inbox(a, 'bus1')
      const atB = inbox(b, 'bus1')
      const atC = inbox(c, 'bus1-other')
      const atD = inbox(d, 'bus1')
      const atDGone = inbox(d, 'bus1')
      atDGone.unsubscribe()
      a.publish('bus1', { type: 'deleted' })
      a.publish('bus1-other', { type: 'query-awareness' })
      await atB.received(1)
      await atD.received(1)
      await atC.received(1)
      assert.deepEqual(atB.messages, [{ message: { type: 'deleted' }, from: a.instance }])
      assert.deepEqual(atD.messages, atB.messages)
      assert.deepEqual(atC.messages, [{ message: { type: 'query-awareness' }, from: a.instance }])
      assert.deepEqual(atDGone.messages, [])
      // b answers only once it has a's message; a's own copy, were it delivered, would come first.
      b.publish('bus1', { type: 'query-awareness' })
      await fromA.received(1)
      assert.deepEqual(fromA.messages, [{ message: { type: 'query-awareness' }, from: b.instance }])
    })

    it('[BUS2] each publisher\'s messages about a document arrive in the order published', async () => {
      const [a, b, c] = await opened(3) as [B, B, B]
      const atC = inbox(c, 'bus2')
      for (let revision = 1; revision <= 200; revision++) {
        a.publish('bus2', { type: 'update', update: Uint8Array.of(revision % 256), revision })
        b.publish('bus2', { type: 'update', update: Uint8Array.of(revision % 256), revision: revision + 1000 })
      }
      await atC.received(400)
      const revisions = (from: InstanceId) => atC.messages
        .filter((entry) => entry.from === from)
        .map((entry) => (entry.message.type === 'update' ? entry.message.revision : -1))
      assert.deepEqual(revisions(a.instance), Array.from({ length: 200 }, (_, index) => index + 1))
      assert.deepEqual(revisions(b.instance), Array.from({ length: 200 }, (_, index) => index + 1001))
    })

    it('[BUS3] every kind of message arrives intact, binary payloads and Unicode names included', async () => {
      const [a, b] = await opened(2) as [B, B]
      const document = 'Überblick:2026~notes.日本'
      const atB = inbox(b, document)
      const random = prng.create(3)
      const sent: BusMessage[] = [
        { type: 'update', update: prng.uint8Array(random, 100_000), revision: 2 ** 40 + 7 },
        { type: 'update', update: prng.uint8Array(random, 17), revision: null },
        { type: 'update', update: new Uint8Array(0), revision: 0 },
        { type: 'awareness', update: prng.uint8Array(random, 3000) },
        { type: 'query-awareness' },
        { type: 'deleted' },
      ]
      for (const message of sent) a.publish(document, message)
      await atB.received(sent.length)
      assert.deepEqual(atB.messages.map((entry) => entry.from), sent.map(() => a.instance))
      assert.deepEqual(atB.messages.map((entry) => normalized(entry.message)), sent.map(normalized))
    })

    it('[BUS4] one publish call is one message handed to the medium, however many instances listen', async () => {
      const [a, b, c] = await opened(3) as [B, B, B]
      const atB = inbox(b, 'bus4')
      inbox(c, 'bus4')
      const start = fixture.published(a)
      for (let index = 0; index < 25; index++) a.publish('bus4', { type: 'update', update: Uint8Array.of(index), revision: index })
      a.publish('bus4-nobody', { type: 'query-awareness' })
      await atB.received(25)
      assert.equal(fixture.published(a) - start, 26)
      assert.equal(fixture.published(b), 0)
    })

    it('[BUS5] the others get instanceDown for an instance that died, within the configured time', async () => {
      const [a, b, c] = await opened(3) as [B, B, B]
      const atB = inbox(b, 'bus5')
      const atC = inbox(c, 'bus5')
      a.publish('bus5', { type: 'awareness', update: Uint8Array.of(1) })
      await Promise.all([atB.received(1), atC.received(1)])
      const downAtB = nextDown(b, a.instance)
      const downAtC = nextDown(c, a.instance)
      const start = performance.now()
      await fixture.kill(a)
      await Promise.all([downAtB, downAtC])
      const elapsed = performance.now() - start
      assert.ok(elapsed <= fixture.downWithinMs, `instanceDown took ${Math.round(elapsed)} ms, over ${fixture.downWithinMs} ms`)
      assert.ok(b.status().ready && c.status().ready)
    })

    it('[BUS6] the others get instanceDown for an instance that closed, and it publishes nothing more', async () => {
      const [a, b] = await opened(2) as [B, B]
      const atB = inbox(b, 'bus6')
      a.publish('bus6', { type: 'awareness', update: Uint8Array.of(1) })
      await atB.received(1)
      const down = nextDown(b, a.instance)
      const start = performance.now()
      await a.close()
      await down
      const elapsed = performance.now() - start
      assert.ok(elapsed <= fixture.closedWithinMs, `instanceDown took ${Math.round(elapsed)} ms, over ${fixture.closedWithinMs} ms`)
      const published = fixture.published(a)
      a.publish('bus6', { type: 'deleted' })
      assert.equal(fixture.published(a), published)
      const [probe] = await opened(1) as [B]
      probe.publish('bus6', { type: 'query-awareness' })
      await atB.received(2)
      assert.deepEqual(atB.messages.map((entry) => entry.message.type), ['awareness', 'query-awareness'])
    })

    it('[BUS7] after an outage the bus fires resync once; messages published meanwhile are dropped, not delivered late', async () => {
      const [a, b] = await opened(2) as [B, B]
      const atA = inbox(a, 'bus7')
      const atB = inbox(b, 'bus7')
      let resyncsA = 0
      let resyncsB = 0
      a.on('resync', () => resyncsA++)
      b.on('resync', () => resyncsB++)
      const resynced = new Promise<void>((resolve) => a.on('resync', resolve))
      await fixture.cut(a)
      await eventually(() => !a.status().ready, 'the cut bus to report not ready', WAIT_MS)
      b.publish('bus7', { type: 'update', update: Uint8Array.of(1), revision: 1 })
      assert.doesNotThrow(() => a.publish('bus7', { type: 'update', update: Uint8Array.of(2), revision: 2 }))
      await fixture.heal(a)
      await withTimeout(resynced, WAIT_MS, 'resync after heal')
      assert.deepEqual(a.status(), { ready: true })
      b.publish('bus7', { type: 'update', update: Uint8Array.of(3), revision: 3 })
      a.publish('bus7', { type: 'update', update: Uint8Array.of(4), revision: 4 })
      await Promise.all([atA.received(1), atB.received(1)])
      assert.deepEqual(atA.messages.map(revisionOf), [3])
      assert.deepEqual(atB.messages.map(revisionOf), [4])
      assert.equal(resyncsA, 1)
      assert.equal(resyncsB, 0)
    })

    it('[BUS8] status is ready only while open and connected, with a reason otherwise', async () => {
      const bus = await fixture.create()
      const notOpen = bus.status()
      assert.ok(!notOpen.ready && notOpen.reason.length > 0)
      await bus.open()
      assert.deepEqual(bus.status(), { ready: true })
      await fixture.cut(bus)
      await eventually(() => !bus.status().ready, 'the cut bus to report not ready', WAIT_MS)
      const cut = bus.status()
      assert.ok(!cut.ready && cut.reason.length > 0)
      const resynced = new Promise<void>((resolve) => bus.on('resync', resolve))
      await fixture.heal(bus)
      await withTimeout(resynced, WAIT_MS, 'resync after heal')
      assert.deepEqual(bus.status(), { ready: true })
      await bus.close()
      const closed = bus.status()
      assert.ok(!closed.ready && closed.reason.length > 0)
    })

    it('[BUS9] a listener that throws keeps neither the other listeners nor later messages from arriving', async () => {
      const [a, b] = await opened(2) as [B, B]
      let thrown = 0
      b.subscribe('bus9', () => {
        thrown++
        throw new Error('a broken listener')
      })
      const atB = inbox(b, 'bus9')
      a.publish('bus9', { type: 'deleted' })
      a.publish('bus9', { type: 'query-awareness' })
      await atB.received(2)
      assert.equal(thrown, 2)
      assert.deepEqual(b.status(), { ready: true })
    })

    it('[BUS10] once a subscription says it is active, a message published right after reaches it', async () => {
      for (let round = 0; round < 20; round++) {
        const [a, b] = await opened(2) as [B, B]
        let arrived = () => {}
        const received = new Promise<void>((resolve) => {
          arrived = resolve
        })
        const active = new Promise<void>((resolve) => {
          b.subscribe(`bus10-${round}`, () => arrived(), resolve)
        })
        await withTimeout(active, WAIT_MS, 'the subscription never became active')
        a.publish(`bus10-${round}`, { type: 'query-awareness' })
        await withTimeout(received, WAIT_MS, `round ${round}: the message published after onActive`)
        await Promise.all([a.close(), b.close()])
      }
    })
  })
}

interface Inbox {
  readonly messages: { message: BusMessage, from: InstanceId }[]
  /** Resolves once `count` messages have arrived; rejects after a few seconds. */
  received(count: number): Promise<void>
  unsubscribe(): void
}

function inbox(bus: Bus, document: string): Inbox {
  const messages: { message: BusMessage, from: InstanceId }[] = []
  const waiters = new Set<() => void>()
  const unsubscribe = bus.subscribe(document, (message, from) => {
    messages.push({ message, from })
    for (const waiter of [...waiters]) waiter()
  })
  return {
    messages,
    unsubscribe,
    received(count) {
      if (messages.length >= count) return Promise.resolve()
      let waiter = () => {}
      const arrived = new Promise<void>((resolve) => {
        waiter = () => {
          if (messages.length >= count) resolve()
        }
        waiters.add(waiter)
      })
      return withTimeout(arrived, WAIT_MS, `${count} messages on ${document} (got ${messages.length})`)
        .finally(() => waiters.delete(waiter))
    },
  }
}

function nextDown(bus: Bus, instance: InstanceId): Promise<void> {
  const down = new Promise<void>((resolve) => {
    bus.on('instanceDown', (gone) => {
      if (gone === instance) resolve()
    })
  })
  return withTimeout(down, WAIT_MS, `instanceDown for ${instance}`)
}

function revisionOf(entry: { message: BusMessage }): number | null {
  return entry.message.type === 'update' ? entry.message.revision : -1
}

/** Bytes compared as plain arrays, whichever Uint8Array subclass (Buffer) carried them. */
function normalized(message: BusMessage): unknown {
  return 'update' in message ? { ...message, update: [...message.update] } : message
}
