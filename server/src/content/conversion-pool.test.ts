import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ContentError,
  ConversionBusyError,
  ConversionTimeoutError,
  ConversionUnavailableError,
} from './conversion-errors.js'
import { ConversionPool } from './conversion-pool.js'

/** Markdown the lexer under @tiptap/markdown takes tens of seconds on (quadratic in `[a](`). */
const PATHOLOGICAL = '[a]('.repeat(64 * 1024)

const small = (text: string) => ({ type: 'import', kind: 'markdown', body: text }) as const

describe('the conversion pool', () => {
  it('[CV2] a worker past its budget is terminated and replaced; the next conversion works', async () => {
    const pool = new ConversionPool({ workers: 1, timeoutMs: 300, maxQueued: 4 })
    try {
      // Loading Tiptap in the worker does not count against the budget; this waits for it.
      await pool.run(small('warm'))
      const [before] = pool.threadIds
      const started = performance.now()
      await assert.rejects(pool.run(small(PATHOLOGICAL)), ConversionTimeoutError)
      const elapsed = performance.now() - started
      assert.ok(elapsed < 300 + 700, `the timeout took ${Math.round(elapsed)} ms`)
      const json = JSON.parse(await pool.run(small('*after*'))) as { content: Array<{ content: unknown[] }> }
      assert.deepEqual(json.content[0]!.content, [{ type: 'text', text: 'after', marks: [{ type: 'italic' }] }])
      assert.equal(pool.threadIds.length, 1)
      assert.notEqual(pool.threadIds[0], before, 'the worker that timed out still runs')
    } finally {
      await pool.close()
    }
  })

  it('[CV3] conversions past the queue bound are refused at once; queued ones run in turn', async () => {
    const pool = new ConversionPool({ workers: 1, timeoutMs: 400, maxQueued: 1 })
    try {
      await pool.run(small('warm'))
      const running = pool.run(small(PATHOLOGICAL))
      const queued = pool.run(small('queued'))
      await assert.rejects(pool.run(small('one too many')), ConversionBusyError)
      await assert.rejects(running, ConversionTimeoutError)
      assert.match(await queued, /queued/)
    } finally {
      await pool.close()
    }
  })

  it('[CV4] close() rejects running and queued conversions and stops every worker', async () => {
    const pool = new ConversionPool({ workers: 1, timeoutMs: 60_000, maxQueued: 4 })
    await pool.run(small('warm'))
    const running = assert.rejects(pool.run(small(PATHOLOGICAL)), ConversionUnavailableError)
    const queued = assert.rejects(pool.run(small('queued')), ConversionUnavailableError)
    const started = performance.now()
    await pool.close()
    assert.ok(performance.now() - started < 2000, 'close() waited for the conversion')
    await running
    await queued
    assert.deepEqual(pool.threadIds, [])
    await assert.rejects(pool.run(small('later')), ConversionUnavailableError)
  })

  it('[CV5] content errors come back as ContentError, and the worker stays', async () => {
    const pool = new ConversionPool({ workers: 1, timeoutMs: 10_000, maxQueued: 4 })
    try {
      await pool.run(small('warm'))
      const [before] = pool.threadIds
      await assert.rejects(pool.run({ type: 'import', kind: 'json', body: '{"type":"doc"' }), ContentError)
      await assert.rejects(pool.run({ type: 'import', kind: 'json', body: '{"type":"paragraph"}' }), ContentError)
      assert.deepEqual(pool.threadIds, [before])
    } finally {
      await pool.close()
    }
  })

  it('[CV17] content that needs more memory than a worker may have is a ContentError; the process lives on', async () => {
    const resourceLimits = { maxOldGenerationSizeMb: 32 }
    const pool = new ConversionPool({ workers: 1, timeoutMs: 30_000, maxQueued: 4, resourceLimits })
    try {
      const text = 'All work and no play makes a long document. '.repeat(25)
      const paragraphs = Array.from({ length: 4000 }, () => ({ type: 'paragraph', content: [{ type: 'text', text }] }))
      const body = JSON.stringify({ type: 'doc', content: paragraphs })
      await assert.rejects(pool.run({ type: 'import', kind: 'json', body }), /more memory/)
      assert.match(await pool.run(small('after')), /after/)
    } finally {
      await pool.close()
    }
  })
})
