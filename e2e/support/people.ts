import { type Browser, type BrowserContext, type BrowserContextOptions, expect, type Page } from '@playwright/test'

/** One person in their own browser context: own storage, own IndexedDB, own socket. */
export interface Person {
  readonly name: string
  readonly context: BrowserContext
  readonly page: Page
  /** Console errors the page logged, other than failed connections to a stopped server. */
  readonly errors: string[]
  readonly editor: ReturnType<Page['locator']>
}

export async function openAs(
  browser: Browser,
  name: string,
  color: string,
  url: string,
  contextOptions: BrowserContextOptions = {},
): Promise<Person> {
  const context = await browser.newContext(contextOptions)
  await context.addInitScript(
    ([identity]) => localStorage.setItem('tandem:identity', identity!),
    [JSON.stringify({ name, color })],
  )
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' && !/WebSocket connection|ERR_CONNECTION_REFUSED/.test(message.text())) {
      errors.push(message.text())
    }
  })
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(url)
  const person = { name, context, page, errors, editor: page.locator('.prose') }
  await expectOnline(person)
  return person
}

export async function expectOnline(person: Person): Promise<void> {
  await expect(person.page.getByTestId('connection-status')).toHaveText('Online')
}

/** The document's text, block by block, without the other people's caret labels. */
export function documentText(page: Page): Promise<string> {
  return page.locator('.prose').evaluate((prose) => {
    const blocks = [...prose.children].map((block) => {
      const copy = block.cloneNode(true) as HTMLElement
      for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
      return copy.textContent ?? ''
    })
    return blocks.join('\n')
  })
}

/** Waits until both editors show the same text, and returns it. */
export async function converged(a: Person, b: Person): Promise<string> {
  let text = ''
  await expect.poll(async () => {
    const [left, right] = await Promise.all([documentText(a.page), documentText(b.page)])
    text = left
    return left === right
  }, { message: 'the two editors never showed the same text' }).toBe(true)
  return text
}
