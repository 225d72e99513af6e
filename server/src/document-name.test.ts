import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseDocumentName, parseDocumentNameSegment } from './document-name.js'

describe('document names', () => {
  it('[DN1] accepts letters, digits and _ ~ : . - in any script, up to 200 code points', () => {
    for (const name of [
      'a',
      'notes',
      'Team_Notes-2026',
      'a:b~c.d',
      'Überblick',
      '日本語',
      '𝒳'.repeat(200),
    ]) {
      assert.equal(parseDocumentName(name), name)
    }
  })

  it('[DN2] refuses empty, dotted, too long, and anything with other characters', () => {
    for (const name of [
      '',
      '.',
      '.env',
      'a/b',
      'a b',
      'a?b',
      'a#b',
      'a%b',
      'x'.repeat(201),
      '𝒳'.repeat(201),
      '🙂',
    ]) {
      assert.equal(parseDocumentName(name), null, JSON.stringify(name))
    }
  })

  it('[DN3] percent-decodes one path segment and refuses broken escapes', () => {
    assert.equal(parseDocumentNameSegment('%C3%9Cberblick'), 'Überblick')
    assert.equal(parseDocumentNameSegment('a%2Fb'), null)
    assert.equal(parseDocumentNameSegment('%E0%A4%A'), null)
  })
})
