import { type BrowserContext, expect, type Request, test } from '@playwright/test'
import { documentText, openAs } from '../support/people.js'
import { TandemServer } from '../support/tandem-server.js'

let server: TandemServer

test.beforeEach(async () => {
  server = new TandemServer()
  await server.start()
})

test.afterEach(async () => {
  await server.dispose()
})

/** Every request a context makes and every CSP complaint its pages log. */
function watch(context: BrowserContext) {
  const requests: Request[] = []
  const violations: string[] = []
  context.on('request', (request) => requests.push(request))
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
  })
  return { requests, violations }
}

test('a writer copies a view link; it opens read-only and its token goes nowhere', async ({ browser }, testInfo) => {
  const ada = await openAs(browser, 'Ada Lovelace', '#7c3aed', await server.link('plans', 'write'), {
    permissions: ['clipboard-read', 'clipboard-write'],
  })
  const adaWatch = watch(ada.context)
  await ada.editor.click()
  await ada.page.keyboard.type('Only Ada writes here.')
  await expect(ada.page.getByTestId('save-status')).toHaveText('Saved')

  await ada.page.getByTestId('share-button').click()
  await ada.page.getByTestId('share-role').selectOption('read')
  await ada.page.getByTestId('share-copy').click()
  await expect(ada.page.getByTestId('share-note')).toContainText('Link copied. Anyone with it can view this document')
  const link = await ada.page.getByTestId('share-link').inputValue()
  expect(await ada.page.evaluate(() => navigator.clipboard.readText())).toBe(link)
  const screenshot = testInfo.outputPath('share-menu.png')
  await ada.page.screenshot({ path: screenshot })
  await testInfo.attach('the share menu', { path: screenshot, contentType: 'image/png' })
  await ada.page.setViewportSize({ width: 390, height: 740 })
  const narrow = testInfo.outputPath('share-menu-narrow.png')
  await ada.page.screenshot({ path: narrow })
  await testInfo.attach('the share menu on a narrow screen', { path: narrow, contentType: 'image/png' })

  const url = new URL(link)
  expect(url.pathname).toBe('/d/plans')
  expect(url.search, 'a token never rides in a query string').toBe('')
  const token = new URLSearchParams(url.hash.slice(1)).get('token')
  expect(token, 'the link carries a token of its own').toBeTruthy()
  const adaToken = await ada.page.evaluate(() => sessionStorage.getItem('tandem:token'))
  expect(token).not.toBe(adaToken)

  const context = await browser.newContext()
  const reader = watch(context)
  const page = await context.newPage()
  await page.goto(link)
  await expect(page.getByTestId('connection-status')).toHaveText('Online')
  expect(page.url(), 'the token left the address bar').toBe(`${server.url}/d/plans`)
  await expect(page.getByTestId('read-only')).toBeVisible()
  await expect(page.locator('.prose')).toHaveAttribute('contenteditable', 'false')
  await expect.poll(() => documentText(page)).toBe('Only Ada writes here.')
  await page.locator('.prose').click()
  await page.keyboard.type('The reader tries to write.')
  expect(await documentText(page)).toBe('Only Ada writes here.')

  const assets = reader.requests.filter((request) => ['script', 'stylesheet'].includes(request.resourceType()))
  expect(assets.length, 'the page loads its script and stylesheet').toBeGreaterThanOrEqual(2)
  for (const request of reader.requests) {
    const referer = (await request.allHeaders())['referer'] ?? ''
    expect(referer, `Referer of ${request.url()}`).not.toContain(token!)
    expect(request.url()).not.toContain(token!)
  }
  expect([...adaWatch.violations, ...reader.violations, ...ada.errors]).toEqual([])
  await context.close()
})

test('a reader can pass on a view link but not an edit link', async ({ browser }) => {
  const rita = await openAs(browser, 'Rita', '#059669', await server.link('notes', 'read'))
  await expect(rita.page.getByTestId('read-only')).toBeVisible()
  await rita.page.getByTestId('share-button').click()
  await expect(rita.page.getByTestId('share-role').locator('option[value="write"]')).toBeDisabled()
  await rita.page.getByTestId('share-copy').click()
  await expect(rita.page.getByTestId('share-note')).toContainText('Anyone with it can view this document')
  expect(await rita.page.getByTestId('share-link').inputValue()).toMatch(/\/d\/notes#token=[\w-]+\.[\w-]+\.[\w-]+$/)
  expect(rita.errors).toEqual([])
})

test('an old ?token= link still opens and leaves the address bar at once', async ({ browser }) => {
  const token = await server.token({ role: 'write' })
  const context = await browser.newContext()
  const { requests, violations } = watch(context)
  const page = await context.newPage()
  await page.goto(`${server.url}/d/legacy?token=${token}`)
  await expect(page.getByTestId('connection-status')).toHaveText('Online')
  expect(page.url()).toBe(`${server.url}/d/legacy`)
  await expect(page.getByTestId('read-only')).toBeHidden()
  // The page's own address held the token; Referrer-Policy keeps it off the asset requests.
  const assets = requests.filter((request) => ['script', 'stylesheet'].includes(request.resourceType()))
  expect(assets.length).toBeGreaterThanOrEqual(2)
  for (const request of assets) expect((await request.allHeaders())['referer'] ?? '').not.toContain(token)
  expect(violations).toEqual([])
  await context.close()
})
