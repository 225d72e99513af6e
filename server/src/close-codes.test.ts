import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { closeReasons } from './close-codes.js'

describe('close codes', () => {
  it('[CC1] PROTOCOL.md documents every close code with the reason the server sends', async () => {
    const doc = await readFile(new URL('../PROTOCOL.md', import.meta.url), 'utf8')
    const rows = new Map(
      [...doc.matchAll(/^\| (\d{4}) \| ([^|]+) \| ([^|]+) \|$/gm)].map((row) => [
        Number(row[1]),
        { reason: row[2]!.trim(), when: row[3]!.trim().replaceAll('`', '') },
      ]),
    )
    assert.deepEqual(
      rows,
      new Map(Object.entries(closeReasons).map(([code, row]) => [Number(code), row])),
    )
  })
})
