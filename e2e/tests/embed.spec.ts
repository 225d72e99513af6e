import { expect, type Page, test } from '@playwright/test'
import { HostSite } from '../support/host-page.js'
import { openAs } from '../support/people.js'
import { TandemServer } from '../support/tandem-server.js'

let server: TandemServer
let host: HostSite

test.beforeEach(async () => {
  server = new TandemServer()
  await server.start()
  host = new HostSite()
  await host.start()
})

test.afterEach(async () => {
  await host.stop()
  await server.dispose()
})

/** The host's own look, which the element must leave alone. */
const HOST_CSS = `
  body { font-family: Georgia, serif; color: rgb(20, 30, 40); background: rgb(253, 246, 227); margin: 24px; }
  p { margin: 40px 0; color: rgb(200, 0, 0); font-size: 20px; }
  button { background: rgb(255, 105, 180); border: 3px solid black; }
  ul { list-style: square; padding: 0; }
`

/** A host page whose `<tandem-editor>` elements appear once `loadEmbed` adds embed.js. */
function hostPage(elements: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host app</title><style>${HOST_CSS}</style></head>
<body>
  <h1>Our own app</h1>
  <p id="host-text">A paragraph of the host page, styled by the host.</p>
  ${elements}
  <script>
    window.seen = []
    for (const type of ['ready', 'status', 'synced', 'change', 'saved', 'presence', 'auth-error', 'error']) {
      document.addEventListener('tandem-' + type, (event) => {
        window.seen.push({ type: event.type, id: event.target.id, detail: event.detail, bubbles: event.bubbles, composed: event.composed })
      })
    }
  </script>
</body></html>`
}

async function loadEmbed(page: Page): Promise<void> {
  await page.evaluate((src) => {
    const script = document.createElement('script')
    script.type = 'module'
    script.src = src
    document.head.append(script)
  }, `${server.url}/embed.js`)
}

/** The element's API as a host page sees it. */
interface TandemEditor extends HTMLElement {
  readonly readonly: boolean
  token: string | null
  document: string
  focus(): void
  destroy(): void
  flush(): Promise<void>
  getText(): string
  getHTML(): string
  getMarkdown(): Promise<string>
  getJSON(): { content?: unknown[] }
}

interface Seen {
  type: string
  id: string
  detail: Record<string, unknown>
  bubbles: boolean
  composed: boolean
}

function seen(page: Page): Promise<Seen[]> {
  return page.evaluate(() => (window as unknown as { seen: Seen[] }).seen)
}

function hostStyle(page: Page) {
  return page.evaluate(() => {
    const style = (selector: string) => {
      const computed = getComputedStyle(document.querySelector(selector)!)
      return [computed.color, computed.margin, computed.fontFamily, computed.fontSize, computed.backgroundColor].join(' | ')
    }
    return { body: style('body'), text: style('#host-text'), button: style('#send') }
  })
}

function contentText(document: string): Promise<string> {
  return server.api(`/${document}/content?format=text`).then((response) => response.text())
}

test('[EM1] [EM2] [EM3] [EM5] [EM6] [EM7] two elements on another origin co-edit with each other and Tandem\'s app, show presence, fire events, flush, submit with a form, and leave the host\'s styles alone', async ({ browser }, testInfo) => {
  const ada = await server.token({ role: 'write', name: 'Ada Lovelace', docs: ['embedded'] })
  const bob = await server.token({ role: 'write', name: 'Bob Kahn', docs: ['embedded'] })
  const url = host.page('/', hostPage(`
    <form id="form">
      <tandem-editor id="ada" document="embedded" token="${ada}" user-name="Grace Hopper" user-color="#7c3aed" name="notes" placeholder="Write here…"></tandem-editor>
      <button id="send" type="submit">Send</button>
    </form>
    <tandem-editor id="bob" document="embedded" token="${bob}" user-name="Bob Kahn" user-color="#059669" toolbar="minimal" theme="dark"></tandem-editor>
  `))
  expect(new URL(url).origin).not.toBe(server.url)
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  const requested: string[] = []
  page.on('request', (request) => requested.push(request.url()))
  await page.goto(url)
  const before = await hostStyle(page)
  await loadEmbed(page)

  await expect.poll(async () => (await seen(page)).filter((event) => event.type === 'tandem-synced').map((event) => event.id).sort()).toEqual(['ada', 'bob'])
  const adaEditor = page.locator('#ada .tandem-prose')
  const bobEditor = page.locator('#bob .tandem-prose')
  await expect(adaEditor).toHaveAttribute('contenteditable', 'true')

  // Ada types, Bob sees it; Carol in Tandem's own app sees it and answers.
  await adaEditor.click()
  await page.keyboard.type('Ada writes in the embedded editor.')
  await expect(bobEditor).toContainText('Ada writes in the embedded editor.')
  const carol = await openAs(browser, 'Carol Shaw', '#d97706', await server.link('embedded', 'write'))
  await expect(carol.editor).toContainText('Ada writes in the embedded editor.')
  await carol.editor.click()
  await carol.page.keyboard.press('Control+End')
  await carol.page.keyboard.press('Enter')
  await carol.page.keyboard.type('Carol answers from the app.')
  await expect(adaEditor).toContainText('Carol answers from the app.')
  await expect(bobEditor).toContainText('Carol answers from the app.')

  // Presence: everyone, with the names their tokens carry (Ada's element claims another
  // `user-name`, in vain); Ada's caret shows in Bob's editor.
  await expect(page.locator('#bob .tandem-person')).toHaveCount(3)
  await expect(page.locator('#ada .tandem-person[data-name="Ada Lovelace"]')).toHaveCount(1)
  await expect(page.locator('.tandem-person[data-name="Grace Hopper"]')).toHaveCount(0)
  // The app opened with a token that names its holder shows that name, and it cannot be changed.
  const named = await openAs(browser, 'Someone Else', '#0284c7', `${server.url}/d/embedded#token=${bob}`)
  await expect(named.page.getByLabel('Your name')).toHaveValue('Bob Kahn')
  await expect(named.page.getByLabel('Your name')).toBeDisabled()
  await named.context.close()
  await expect(page.locator('#bob .collaboration-carets__label', { hasText: 'Ada Lovelace' })).toBeVisible()
  await expect(carol.page.getByTestId('presence')).toContainText('Ada Lovelace')
  await expect(carol.page.getByTestId('presence')).toContainText('Bob Kahn')
  await expect.poll(async () => {
    const last = (await seen(page)).filter((event) => event.type === 'tandem-presence' && event.id === 'bob').at(-1)
    return (last?.detail.users as Array<{ name: string }> | undefined)?.map((user) => user.name).sort()
  }).toEqual(['Ada Lovelace', 'Bob Kahn', 'Carol Shaw'])

  // flush() resolves only once the server stored the change: read it back at once.
  await adaEditor.click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(' Flushed.')
  await page.evaluate(() => document.querySelector<TandemEditor>('#ada')!.flush())
  expect(await contentText('embedded')).toContain('Flushed.')

  // Events: each element's ready, status, synced, change and saved, bubbling and composed.
  await expect.poll(async () => (await seen(page)).some((event) => event.type === 'tandem-saved' && event.id === 'ada')).toBe(true)
  const events = await seen(page)
  for (const id of ['ada', 'bob']) {
    const mine = events.filter((event) => event.id === id)
    expect(mine.find((event) => event.type === 'tandem-ready')?.detail).toEqual({ document: 'embedded' })
    expect(mine.filter((event) => event.type === 'tandem-status').map((event) => event.detail.status)).toEqual(['connecting', 'connected'])
    expect(mine.find((event) => event.type === 'tandem-change')?.detail).toEqual({ document: 'embedded' })
  }
  expect(events.every((event) => event.bubbles && event.composed)).toBe(true)
  expect(events.filter((event) => event.type === 'tandem-auth-error' || event.type === 'tandem-error')).toEqual([])

  // Reading the content; Markdown's converter loads only when asked for.
  expect(requested.some((request) => /\/assets\/dist-/.test(request))).toBe(false)
  const read = await page.evaluate(async () => {
    const element = document.querySelector<TandemEditor>('#ada')!
    return {
      text: element.getText(),
      html: element.getHTML(),
      markdown: await element.getMarkdown(),
      blocks: element.getJSON().content?.length,
      form: new FormData(document.querySelector('form')!).get('notes'),
    }
  })
  expect(read.text).toBe('Ada writes in the embedded editor.\n\nCarol answers from the app. Flushed.')
  expect(read.html).toBe('<p>Ada writes in the embedded editor.</p><p>Carol answers from the app. Flushed.</p>')
  expect(read.markdown).toBe('Ada writes in the embedded editor.\n\nCarol answers from the app. Flushed.')
  expect(read.blocks).toBe(2)
  expect(read.form).toBe(read.html)

  // The host's look is untouched, and the host's CSS did not reach into the editor.
  expect(await hostStyle(page)).toEqual(before)
  const inside = await adaEditor.locator('p').first().evaluate((paragraph) => {
    const computed = getComputedStyle(paragraph)
    return { color: computed.color, margin: computed.margin }
  })
  expect(inside).toEqual({ color: 'rgb(31, 35, 40)', margin: '0px' })
  const screenshot = testInfo.outputPath('embed-host-page.png')
  await page.screenshot({ path: screenshot, fullPage: true })
  await testInfo.attach('two <tandem-editor> elements on another origin', { path: screenshot, contentType: 'image/png' })
  expect([...errors, ...carol.errors]).toEqual([])
})

test('[EM8] a readonly element shows the document and live edits but cannot change it', async ({ browser }) => {
  await server.api('/fixed/content', { method: 'PUT', headers: { 'Content-Type': 'text/html' }, body: '<p>Fixed text.</p>' })
  const token = await server.token({ role: 'write', name: 'Rita Reader', docs: ['fixed'] })
  const url = host.page('/readonly', hostPage(`<tandem-editor id="rita" document="fixed" token="${token}" readonly></tandem-editor>`))
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await loadEmbed(page)
  const editor = page.locator('#rita .tandem-prose')
  await expect(editor).toContainText('Fixed text.')
  await expect(editor).toHaveAttribute('contenteditable', 'false')
  await expect(page.locator('#rita .toolbar')).toBeHidden()
  await editor.click()
  await page.keyboard.type('Rita tries to type.')
  await page.keyboard.press('Backspace')
  await server.api('/fixed/content', { method: 'PUT', headers: { 'Content-Type': 'text/html' }, body: '<p>Fixed text, edited elsewhere.</p>' })
  await expect(editor).toContainText('Fixed text, edited elsewhere.')
  expect(await contentText('fixed')).toBe('Fixed text, edited elsewhere.')
  expect(await page.evaluate(() => document.querySelector<TandemEditor>('#rita')!.readonly)).toBe(true)
})

test('[EM9] tokens that expire mid-session are renewed through tokenProvider and token-url, without cookies, with no edit lost', async ({ browser }) => {
  test.setTimeout(120_000)
  const lifetimeS = 35
  const expiries: number[] = []
  const cookies: Array<string | undefined> = []
  host.handle('/token', async (request, body) => {
    const { document, who } = JSON.parse(body) as { document: string, who?: string }
    // The page's own tokenProvider sends its cookies as it likes; the element's token-url must not.
    if (who === undefined) cookies.push(request.headers.cookie)
    const token = await server.token({ role: 'write', name: who ?? 'Uma Url', docs: [document], expiresIn: `${lifetimeS}s` })
    expiries.push(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp * 1000)
    return { status: 200, json: { token } }
  })
  const url = host.page('/renewing', hostPage(`
    <tandem-editor id="pat" document="renewed" user-name="Pat Provider"></tandem-editor>
    <tandem-editor id="uma" document="renewed" token-url="/token" user-name="Uma Url"></tandem-editor>
    <script>
      document.cookie = 'host-session=secret'
      window.reasons = []
      // Set before embed.js defines the element: the element must still use it.
      document.getElementById('pat').tokenProvider = async ({ document, reason }) => {
        window.reasons.push(reason)
        const response = await fetch('/token', { method: 'POST', body: JSON.stringify({ document, who: 'Pat Provider' }) })
        return (await response.json()).token
      }
    </script>
  `))
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await loadEmbed(page)
  await expect.poll(async () => (await seen(page)).filter((event) => event.type === 'tandem-synced').length).toBe(2)
  const firstExpiry = Math.max(...expiries)
  await page.locator('#pat .tandem-prose').click()
  await page.keyboard.type('Pat, before the first token expires.')

  // Renewed about 30 s before exp: Pat's through tokenProvider, Uma's through token-url.
  const reasons = () => page.evaluate(() => (window as unknown as { reasons: string[] }).reasons)
  await expect.poll(reasons, { timeout: 20_000 }).toEqual(['connect', 'expiring'])
  await expect.poll(() => expiries.length, { timeout: 20_000 }).toBe(4)
  expect(cookies).toEqual([undefined, undefined])
  await page.waitForTimeout(Math.max(0, firstExpiry - Date.now() + 1_500))

  await page.locator('#uma .tandem-prose').click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(' Uma, after it expired.')
  await page.evaluate(() => Promise.all([...document.querySelectorAll<TandemEditor>('tandem-editor')].map((element) => element.flush())))
  expect(await contentText('renewed')).toBe('Pat, before the first token expires. Uma, after it expired.')
  const events = await seen(page)
  for (const id of ['pat', 'uma']) {
    const statuses = events.filter((event) => event.type === 'tandem-status' && event.id === id).map((event) => event.detail.status)
    expect(statuses, `${id} stayed connected`).toEqual(['connecting', 'connected'])
  }
  expect(events.filter((event) => event.type === 'tandem-auth-error' || event.type === 'tandem-error')).toEqual([])
})

test('[EM10] a page whose origin ALLOWED_ORIGINS does not list gets tandem-error, not a silent hang', async ({ browser }) => {
  await server.dispose()
  server = new TandemServer({ ALLOWED_ORIGINS: 'https://only.example' })
  await server.start()
  const token = await server.token({ role: 'write', name: 'Nina', docs: ['elsewhere'] })
  const url = host.page('/refused', hostPage(`<tandem-editor id="nina" document="elsewhere" token="${token}"></tandem-editor>`))
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await loadEmbed(page)
  await expect.poll(async () => (await seen(page)).find((event) => event.type === 'tandem-error')?.detail.message)
    .toBe(`Could not connect to ${server.url}`)
  expect((await seen(page)).some((event) => event.type === 'tandem-synced')).toBe(false)
})

test('[EM11] a refused token fires tandem-auth-error with the reason; a tokenProvider is asked again (auth-failed) and its next token opens the document', async ({ browser }) => {
  const wrong = await server.token({ role: 'write', name: 'Tia Token', docs: ['another-document'] })
  const right = await server.token({ role: 'write', name: 'Tia Token', docs: ['guarded'] })
  host.handle('/no-token', async () => ({ status: 503, json: { error: 'down for maintenance' } }))
  const url = host.page('/auth', hostPage(`
    <tandem-editor id="tia" document="guarded" user-name="Tia Token"></tandem-editor>
    <tandem-editor id="stuck" document="guarded" token="${wrong}"></tandem-editor>
    <tandem-editor id="nourl" document="guarded" token-url="/no-token"></tandem-editor>
    <script>
      window.reasons = []
      document.getElementById('tia').tokenProvider = async ({ document, reason }) => {
        window.reasons.push(document + ':' + reason)
        return reason === 'connect' ? '${wrong}' : '${right}'
      }
    </script>
  `))
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await loadEmbed(page)
  await expect.poll(async () => (await seen(page)).filter((event) => event.type === 'tandem-synced').map((event) => event.id)).toEqual(['tia'])
  await page.locator('#tia .tandem-prose').click()
  await page.keyboard.type('Tia got in on the second token.')
  await page.evaluate(() => document.querySelector<TandemEditor>('#tia')!.flush())
  expect(await contentText('guarded')).toBe('Tia got in on the second token.')
  expect(await page.evaluate(() => (window as unknown as { reasons: string[] }).reasons)).toEqual(['guarded:connect', 'guarded:auth-failed'])
  const refusals = async () => (await seen(page)).filter((event) => event.type === 'tandem-auth-error').map((event) => [event.id, event.detail])
  const reason = { reason: 'the token does not cover guarded' }
  await expect.poll(refusals).toEqual([['tia', reason], ['stuck', reason]])
  await expect(page.locator('#stuck .tandem-prose')).toBeEmpty()
  // A token-url that fails is reported, not waited on in silence.
  await expect.poll(async () => (await seen(page)).find((event) => event.type === 'tandem-error' && event.id === 'nourl')?.detail.message)
    .toBe('No token for guarded: Error: token-url answered 503')

  // A page that sets a new token after a refusal gets in without re-creating the element.
  await page.evaluate((token) => (document.querySelector<TandemEditor>('#stuck')!.token = token), right)
  await expect(page.locator('#stuck .tandem-prose p')).toContainText('Tia got in on the second token.')
  expect(await refusals()).toEqual([['tia', reason], ['stuck', reason]])
})

test('[EM12] changing the document attribute moves the element to the other document; focus() takes typing; destroy() leaves the document and removes the element', async ({ browser }) => {
  const docs = ['alpha', 'beta']
  await server.api('/alpha/content', { method: 'PUT', headers: { 'Content-Type': 'text/html' }, body: '<p>Alpha.</p>' })
  const one = await server.token({ role: 'write', name: 'Olga One', docs })
  const two = await server.token({ role: 'write', name: 'Tom Two', docs })
  const url = host.page('/switch', hostPage(`
    <tandem-editor id="one" document="alpha" token="${one}" user-name="Olga One"></tandem-editor>
    <tandem-editor id="two" document="alpha" token="${two}" user-name="Tom Two"></tandem-editor>
  `))
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await loadEmbed(page)
  await expect(page.locator('#two .tandem-person')).toHaveCount(2)
  const clients = async (document: string) => ((await (await server.api(`/${document}`)).json()) as { clients: number }).clients

  await page.evaluate(() => (document.querySelector<TandemEditor>('#one')!.document = 'beta'))
  await expect.poll(async () => (await seen(page)).filter((event) => event.type === 'tandem-synced' && event.id === 'one').map((event) => event.detail.document))
    .toEqual(['alpha', 'beta'])
  await expect(page.locator('#two .tandem-person')).toHaveCount(1)
  await page.evaluate(() => document.querySelector<TandemEditor>('#one')!.focus())
  await page.keyboard.type('Olga moved to beta.')
  await page.evaluate(() => document.querySelector<TandemEditor>('#one')!.flush())
  expect(await contentText('beta')).toBe('Olga moved to beta.')
  expect(await contentText('alpha')).toBe('Alpha.')

  expect(await clients('alpha')).toBe(1)
  const destroyed = await page.evaluateHandle(() => document.querySelector<TandemEditor>('#two')!)
  await destroyed.evaluate((element) => element.destroy())
  await expect(page.locator('#two')).toHaveCount(0)
  await expect.poll(() => clients('alpha')).toBe(0)
  // A destroyed element put back in the page stays empty and does not reconnect.
  await destroyed.evaluate((element) => document.body.append(element))
  await expect(page.locator('#two')).toBeEmpty()
  expect((await seen(page)).filter((event) => event.type === 'tandem-ready' && event.id === 'two')).toHaveLength(1)
  expect(await clients('beta')).toBe(1)
})

test('[EM13] when the server goes away the element says disconnected, keeps what is typed meanwhile, and stores it once the server is back', async ({ browser }) => {
  const token = await server.token({ role: 'write', name: 'Owen Offline', docs: ['outage'] })
  const url = host.page('/outage', hostPage(`<tandem-editor id="owen" document="outage" token="${token}"></tandem-editor>`))
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await loadEmbed(page)
  const statuses = async () => (await seen(page)).filter((event) => event.type === 'tandem-status').map((event) => event.detail.status)
  await expect.poll(statuses).toEqual(['connecting', 'connected'])
  await page.locator('#owen .tandem-prose').click()
  await page.keyboard.type('Before the outage.')
  await page.evaluate(() => document.querySelector<TandemEditor>('#owen')!.flush())

  await server.stop()
  await expect.poll(async () => (await statuses()).at(-1)).toBe('disconnected')
  await page.keyboard.type(' During the outage.')
  let flushed = false
  const flushing = page.evaluate(() => document.querySelector<TandemEditor>('#owen')!.flush()).then(() => (flushed = true))
  await expect(page.locator('#owen .tandem-state')).toHaveText('Offline')
  expect(flushed, 'flush() resolved while nothing could be stored').toBe(false)
  await server.start()
  await flushing
  expect(flushed).toBe(true)
  expect(await contentText('outage')).toBe('Before the outage. During the outage.')
  expect((await statuses()).at(-1)).toBe('connected')
  await expect(page.locator('#owen .tandem-state')).toHaveText('Saved')
})

test('[EM14] placeholder, theme, toolbar and the --tandem-* custom properties style the element', async ({ browser }) => {
  const token = await server.token({ role: 'write', name: 'Tess Theme', docs: ['*'] })
  const url = host.page('/themed', hostPage(`
    <style>#themed { --tandem-bg: rgb(1, 2, 3); --tandem-font: monospace; }</style>
    <tandem-editor id="themed" document="themed" token="${token}" theme="dark" toolbar="none" placeholder="Write here…"></tandem-editor>
    <tandem-editor id="minimal" document="minimal" token="${token}" toolbar="minimal"></tandem-editor>
    <tandem-editor id="dark" document="minimal" token="${token}" theme="dark" toolbar="none"></tandem-editor>
    <tandem-editor id="auto" document="minimal" token="${token}" theme="auto" toolbar="none"></tandem-editor>
  `))
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await loadEmbed(page)
  const paragraph = page.locator('#themed .tandem-prose p').first()
  await expect(paragraph).toBeVisible()
  const placeholder = () => paragraph.evaluate((element) => getComputedStyle(element, '::before').content)
  expect(await placeholder()).toBe('"Write here…"')
  const look = await page.locator('#themed').evaluate((element) => {
    const computed = getComputedStyle(element)
    return { background: computed.backgroundColor, color: computed.color, font: computed.fontFamily }
  })
  expect(look).toEqual({ background: 'rgb(1, 2, 3)', color: 'rgb(230, 232, 235)', font: 'monospace' })
  await expect(page.locator('#themed .toolbar')).toBeHidden()
  await expect(page.locator('#minimal .tool:visible')).toHaveCount(7)
  await expect(page.locator('#minimal .tool', { hasText: 'H2' })).toBeVisible()
  await expect(page.locator('#minimal .tool', { hasText: '1.' })).toBeHidden()

  await page.locator('#themed .tandem-prose').click()
  await page.keyboard.type('Now it has text.')
  expect(await placeholder()).toBe('none')

  // theme="auto" follows the reader's colour scheme.
  const colours = (id: string) => page.locator(`#${id}`).evaluate((element) => {
    const computed = getComputedStyle(element)
    return [computed.backgroundColor, computed.color]
  })
  await page.emulateMedia({ colorScheme: 'dark' })
  expect(await colours('auto')).toEqual(await colours('dark'))
  await page.emulateMedia({ colorScheme: 'light' })
  expect(await colours('auto')).toEqual(await colours('minimal'))
  expect(await colours('auto')).not.toEqual(await colours('dark'))
})
