import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../test-support/clients.js'
import { startTestServer } from '../test-support/server.js'

interface VersionJson {
  id: string
  createdAt: string
  label: string | null
  author: string | null
  size: number
}

interface VersionsPage {
  versions: VersionJson[]
  nextCursor: string | null
}

type TestServer = Awaited<ReturnType<typeof startTestServer>>

/** The HTTP calls these tests make, against one server (open mode: no tokens). */
function client(server: TestServer) {
  const call = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api/documents${path}`, init)
  return {
    call,
    put: async (name: string, type: string, body: string | Uint8Array) => {
      const response = await call(`/${name}/content`, { method: 'PUT', headers: { 'content-type': type }, body })
      assert.equal(response.status, 200, `PUT ${name}`)
    },
    take: async (name: string, label?: string) => {
      const body = label === undefined ? '' : JSON.stringify({ label })
      const response = await call(`/${name}/versions`, { method: 'POST', body })
      assert.equal(response.status, 201, `POST ${name}/versions`)
      return (await response.json()) as VersionJson
    },
    page: async (name: string, query = '') => {
      const response = await call(`/${name}/versions${query}`)
      assert.equal(response.status, 200, `GET ${name}/versions${query}`)
      return (await response.json()) as VersionsPage
    },
  }
}

/** Every page of the list, following `nextCursor` from the first page until it is null. */
async function allPages(
  http: ReturnType<typeof client>,
  name: string,
  limit: number,
): Promise<VersionsPage[]> {
  const pages: VersionsPage[] = []
  let cursor: string | null = null
  do {
    const query: string = `?limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const page = await http.page(name, query)
    pages.push(page)
    cursor = page.nextCursor
    assert.ok(pages.length <= 200, 'nextCursor never became null')
  } while (cursor !== null)
  return pages
}

describe('the versions list over HTTP', () => {
  let server: TestServer
  let http: ReturnType<typeof client>
  before(async () => {
    server = await startTestServer()
    http = client(server)
  })
  after(() => server.stop())

  it('[VR1] pages follow nextCursor through every version once, newest first, and the last says null', async () => {
    await http.put('paged', 'text/markdown', 'Some text.')
    const taken: VersionJson[] = []
    for (let i = 0; i < 7; i++) taken.push(await http.take('paged', i % 2 === 0 ? `v${i}` : undefined))
    const newestFirst = taken.map((version) => version.id).reverse()

    const whole = await http.page('paged')
    assert.deepEqual(whole.versions.map((version) => version.id), newestFirst)
    assert.equal(whole.nextCursor, null)
    // The shape of a version is what it was before paging came.
    assert.deepEqual(whole.versions[0], taken[6])
    assert.deepEqual(Object.keys(whole.versions[0]!).sort(), ['author', 'createdAt', 'id', 'label', 'size'])

    for (const limit of [1, 2, 3, 6, 7, 8]) {
      const pages = await allPages(http, 'paged', limit)
      const ids = pages.flatMap((page) => page.versions.map((version) => version.id))
      assert.deepEqual(ids, newestFirst, `pages of ${limit}`)
      // No empty page at the end: a full last page already says there is no more.
      assert.equal(pages.length, Math.ceil(7 / limit), `pages of ${limit}`)
      for (const page of pages) assert.ok(page.versions.length >= 1 && page.versions.length <= limit)
    }

    // A version taken between pages is not on the later pages: they go on from where they were.
    const first = await http.page('paged', '?limit=3')
    await http.take('paged', 'newer')
    const second = await http.page('paged', `?limit=3&cursor=${first.nextCursor}`)
    assert.deepEqual(second.versions.map((version) => version.id), newestFirst.slice(3, 6))
  })

  it('[VR2] limit: 100 unless asked for fewer, never more than 100', async () => {
    await http.put('long-history', 'text/markdown', 'Some text.')
    const taken: string[] = []
    for (let i = 0; i < 103; i++) taken.push((await http.take('long-history')).id)
    const newestFirst = taken.reverse()

    const unasked = await http.page('long-history')
    assert.deepEqual(unasked.versions.map((version) => version.id), newestFirst.slice(0, 100))
    assert.equal(unasked.nextCursor, newestFirst[99])
    const rest = await http.page('long-history', `?cursor=${unasked.nextCursor}`)
    assert.deepEqual(rest.versions.map((version) => version.id), newestFirst.slice(100))
    assert.equal(rest.nextCursor, null)

    for (const limit of ['101', '1000', '99999999999999999999']) {
      const page = await http.page('long-history', `?limit=${limit}`)
      assert.equal(page.versions.length, 100, `limit=${limit}`)
      assert.equal(page.nextCursor, newestFirst[99], `limit=${limit}`)
    }
    const one = await http.page('long-history', '?limit=1')
    assert.deepEqual(one.versions.map((version) => version.id), [newestFirst[0]])
    assert.equal(one.nextCursor, newestFirst[0])
    assert.equal((await http.page('long-history', '?limit=100')).versions.length, 100)
  })

  it('[VR3] a bad limit or cursor is a 400 JSON error; an unknown document is a 404', async () => {
    await http.put('strict', 'text/markdown', 'Some text.')
    await http.take('strict', 'one')
    const cases: Array<[string, string]> = [
      ['?limit=0', 'invalid_limit'],
      ['?limit=-1', 'invalid_limit'],
      ['?limit=abc', 'invalid_limit'],
      ['?limit=1.5', 'invalid_limit'],
      ['?limit=1e2', 'invalid_limit'],
      ['?limit=%201', 'invalid_limit'],
      ['?cursor=nonsense', 'invalid_cursor'],
      ['?cursor=100', 'invalid_cursor'],
      [`?cursor=${encodeURIComponent('\' OR 1=1 --')}`, 'invalid_cursor'],
      ['?limit=2&cursor=00000000-00000', 'invalid_cursor'],
    ]
    for (const [query, code] of cases) {
      const response = await http.call(`/strict/versions${query}`)
      assert.equal(response.status, 400, query)
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/, query)
      const body = (await response.json()) as { error: { code: string, message: string } }
      assert.equal(body.error.code, code, query)
      assert.ok(body.error.message.length > 0, query)
    }
    // A cursor of the right form pages, even one no version has (retention may have deleted it).
    const old = await http.page('strict', '?cursor=000000000-000000')
    assert.deepEqual(old, { versions: [], nextCursor: null })
    const future = await http.page('strict', '?cursor=zzzzzzzzz-zzzzzz')
    assert.deepEqual(future.versions.map((version) => version.label), ['one'])
    const missing = await http.call('/no-such-document/versions?limit=5')
    assert.equal(missing.status, 404)
  })
})

describe('VERSION_RETENTION over HTTP', () => {
  let time = 0
  let server: TestServer
  let http: ReturnType<typeof client>
  before(async () => {
    server = await startTestServer({ versionRetention: 2, versionIntervalMs: 1000, now: () => time })
    http = client(server)
  })
  after(() => server.stop())

  it('[VR4] keeps the newest unlabelled versions (automatic, before replace, before restore) and every labelled one', async () => {
    const labels = async () => (await http.page('kept')).versions.map((version) => version.label)
    await http.put('kept', 'text/markdown', 'The first plan.')
    const approved = await http.take('kept', 'approved')
    const unlabelled = await http.take('kept')
    await http.put('kept', 'text/markdown', 'The second plan.')
    assert.deepEqual(await labels(), ['before replace', null, 'approved'])
    const restore = await http.call(`/kept/versions/${approved.id}/restore`, { method: 'POST' })
    assert.equal(restore.status, 200)
    assert.deepEqual(await labels(), ['before restore', 'before replace', 'approved'], 'the oldest unlabelled one stays')
    assert.equal((await http.call(`/kept/versions/${unlabelled.id}/content`)).status, 404, 'a deleted version still loads')

    // An automatic version, after the interval and an edit.
    time = 10_000
    const edit = new Y.Doc()
    edit.getText('notes').insert(0, 'a note')
    await http.put('kept', 'application/octet-stream', Y.encodeStateAsUpdate(edit))
    await eventually(async () => (await http.page('kept')).versions.some((version) => version.author === null), 'no automatic version')
    const automatic = (await http.page('kept')).versions[0]!
    assert.equal(automatic.author, null)
    assert.deepEqual(await labels(), [null, 'before restore', 'approved'])

    for (let i = 0; i < 5; i++) await http.take('kept')
    const final = await http.take('kept', 'final')
    const listed = (await http.page('kept')).versions
    assert.deepEqual(listed.map((version) => version.label), ['final', null, null, 'approved'])
    assert.equal(listed[0]!.id, final.id)
    assert.equal(listed[3]!.id, approved.id)
    const content = await http.call(`/kept/versions/${approved.id}/content?format=text`)
    assert.equal(await content.text(), 'The first plan.')
  })
})
