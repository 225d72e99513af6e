import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isSafeHref, stripUnsafeLinks } from './safe-links.js'

describe('safe links', () => {
  it('[CV13] http(s), mailto, relative and fragment hrefs are safe; every other scheme, however spelled, is not', () => {
    const safe = [
      'https://example.com/a?b#c',
      'HTTP://EXAMPLE.COM',
      'mailto:someone@example.com',
      '//example.com/path',
      '/docs/page',
      'docs/page.html',
      '../up',
      '#top',
      '?q=a&b=c',
      'page?q=a:b',
      'path/with:colon',
      '',
    ]
    const unsafe = [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'java\nscript:alert(1)',
      '\u0000javascript:alert(1)',
      'javascript&colon;alert(1)',
      'javascript&#58;alert(1)',
      'javascript\\:alert(1)',
      'data:text/html;base64,PHNjcmlwdD4=',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      'ftp://example.com',
    ]
    for (const href of safe) assert.equal(isSafeHref(href), true, JSON.stringify(href))
    for (const href of unsafe) assert.equal(isSafeHref(href), false, JSON.stringify(href))
  })

  it('[CV14] stripping removes unsafe and href-less link marks, keeps other marks and all text', () => {
    const link = (href: unknown) => ({ type: 'link', attrs: { href } })
    const doc = {
      type: 'doc',
      content: [{
        type: 'paragraph',
        content: [
          { type: 'text', text: 'bad', marks: [{ type: 'bold' }, link('javascript:alert(1)')] },
          { type: 'text', text: 'none', marks: [link(null)] },
          { type: 'text', text: 'good', marks: [link('https://example.com')] },
        ],
      }],
    }
    stripUnsafeLinks(doc)
    assert.deepEqual(doc.content[0]!.content, [
      { type: 'text', text: 'bad', marks: [{ type: 'bold' }] },
      { type: 'text', text: 'none', marks: [] },
      { type: 'text', text: 'good', marks: [link('https://example.com')] },
    ])
  })
})
