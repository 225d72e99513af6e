import { expect, test } from '@playwright/test'
import { converged, documentText, expectOnline, openAs } from '../support/people.js'
import { TandemServer } from '../support/tandem-server.js'

let server: TandemServer

test.beforeEach(async () => {
  server = new TandemServer()
  await server.start()
})

test.afterEach(async () => {
  await server.dispose()
})

test('two people type at once into one document and converge', async ({ browser }) => {
  const link = await server.link('together', 'write')
  const ada = await openAs(browser, 'Ada Lovelace', '#7c3aed', link)
  const bob = await openAs(browser, 'Bob Kahn', '#059669', link)
  await ada.editor.click()
  await bob.editor.click()
  await Promise.all([
    ada.page.keyboard.type('Ada writes this sentence. ', { delay: 15 }),
    bob.page.keyboard.type('Bob writes another one. ', { delay: 15 }),
  ])
  const text = await converged(ada, bob)
  expect(text).toContain('Ada writes this sentence.')
  expect(text).toContain('Bob writes another one.')
  await expect(ada.page.getByTestId('save-status')).toHaveText('Saved')
  expect([...ada.errors, ...bob.errors]).toEqual([])
})

test('each sees the other\'s caret and presence; closing one removes it', async ({ browser }, testInfo) => {
  const link = await server.link('carets', 'write')
  const ada = await openAs(browser, 'Ada Lovelace', '#7c3aed', link)
  const bob = await openAs(browser, 'Bob Kahn', '#059669', link)
  await ada.editor.click()
  await ada.page.keyboard.type('Tandem keeps everyone on the same page.')
  await ada.page.keyboard.press('Enter')
  await ada.page.getByRole('button', { name: /Heading 2/ }).click()
  await ada.page.keyboard.type('Notes from the meeting')
  await converged(ada, bob)
  await bob.editor.locator('p').first().click()
  await bob.page.keyboard.press('End')
  const carol = await openAs(browser, 'Carol Shaw', '#d97706', link)
  await carol.editor.locator('h2').click()
  await carol.page.keyboard.press('Home')

  await expect(ada.page.locator('.collaboration-carets__label', { hasText: 'Bob Kahn' })).toBeVisible()
  await expect(ada.page.locator('.collaboration-carets__label', { hasText: 'Carol Shaw' })).toBeVisible()
  await expect(bob.page.locator('.collaboration-carets__label', { hasText: 'Ada Lovelace' })).toBeVisible()
  await expect(ada.page.getByTestId('person')).toHaveCount(3)
  await expect(ada.page.getByTestId('presence')).toContainText('Bob Kahn')
  await expect(bob.page.getByTestId('presence')).toContainText('Ada Lovelace')
  await expect(bob.page.getByTestId('presence')).toContainText('Bob Kahn (you)')
  const screenshot = testInfo.outputPath('editor-two-carets.png')
  await ada.page.screenshot({ path: screenshot })
  await testInfo.attach('editor with two carets', { path: screenshot, contentType: 'image/png' })
  await carol.page.setViewportSize({ width: 390, height: 740 })
  const narrow = testInfo.outputPath('editor-narrow-screen.png')
  await carol.page.screenshot({ path: narrow })
  await testInfo.attach('editor on a narrow screen', { path: narrow, contentType: 'image/png' })

  await bob.context.close()
  await expect(ada.page.getByTestId('person')).toHaveCount(2)
  await expect(ada.page.locator('.collaboration-carets__label', { hasText: 'Bob Kahn' })).toHaveCount(0)
  expect([...ada.errors, ...carol.errors]).toEqual([])
})

test('after a server restart both reconnect by themselves, keep their content and go on', async ({ browser }) => {
  const link = await server.link('restart', 'write')
  const ada = await openAs(browser, 'Ada', '#7c3aed', link)
  const bob = await openAs(browser, 'Bob', '#059669', link)
  await ada.editor.click()
  await ada.page.keyboard.type('Written before the restart.')
  await converged(ada, bob)
  await expect(ada.page.getByTestId('save-status')).toHaveText('Saved')

  await server.stop()
  await expect(ada.page.getByTestId('connection-status')).toHaveText('Offline')
  await server.start()
  await expectOnline(ada)
  await expectOnline(bob)
  await bob.editor.click()
  await bob.page.keyboard.press('End')
  await bob.page.keyboard.type(' And after it.')
  const text = await converged(ada, bob)
  expect(text).toBe('Written before the restart. And after it.')
  await expect(bob.page.getByTestId('save-status')).toHaveText('Saved')
})

test('edits made while offline survive closing the tab and merge when the server is back', async ({ browser }) => {
  const link = await server.link('offline', 'write')
  const ada = await openAs(browser, 'Ada', '#7c3aed', link)
  const bob = await openAs(browser, 'Bob', '#059669', link)
  await ada.editor.click()
  await ada.page.keyboard.type('Shared start.')
  await converged(ada, bob)

  await server.stop()
  await expect(ada.page.getByTestId('connection-status')).toHaveText('Offline')
  await ada.editor.click()
  await ada.page.keyboard.press('End')
  await ada.page.keyboard.type(' Ada offline.')
  await expect(ada.page.getByTestId('save-status')).toHaveText('Not saved yet')
  await bob.editor.click()
  await bob.page.keyboard.press('Home')
  await bob.page.keyboard.type('Bob offline. ')
  // Ada closes her tab before the server is back: the edit exists only in her browser.
  await ada.page.close()

  await server.start()
  await expectOnline(bob)
  const again = await ada.context.newPage()
  await again.goto(link)
  await expect(again.getByTestId('connection-status')).toHaveText('Online')
  const reopened = { ...ada, page: again, editor: again.locator('.prose') }
  const text = await converged(reopened, bob)
  expect(text).toBe('Bob offline. Shared start. Ada offline.')
  await expect(again.getByTestId('save-status')).toHaveText('Saved')
  await expect(bob.page.getByTestId('save-status')).toHaveText('Saved')
})

test('a read-only link shows the document, follows live edits and cannot change it', async ({ browser }) => {
  const ada = await openAs(browser, 'Ada', '#7c3aed', await server.link('briefing', 'write'))
  await ada.editor.click()
  await ada.page.keyboard.type('Only Ada edits this.')
  const reader = await openAs(browser, 'Reader', '#0284c7', await server.link('briefing', 'read'))
  await expect(reader.page.getByTestId('read-only')).toBeVisible()
  await expect.poll(() => documentText(reader.page)).toBe('Only Ada edits this.')
  await expect(reader.editor).toHaveAttribute('contenteditable', 'false')
  await expect(reader.page.getByRole('button', { name: /Bold/ })).toBeDisabled()

  await ada.page.keyboard.type(' Live.')
  await expect.poll(() => documentText(reader.page)).toBe('Only Ada edits this. Live.')
  await reader.editor.click()
  await reader.page.keyboard.type('reader was here')
  await ada.page.keyboard.type(' Still Ada.')
  await expect.poll(() => documentText(reader.page)).toBe('Only Ada edits this. Live. Still Ada.')
  expect(await documentText(ada.page)).toBe('Only Ada edits this. Live. Still Ada.')
  expect([...ada.errors, ...reader.errors]).toEqual([])
})

test('the document list shows a new document and who is editing it', async ({ browser }) => {
  const admin = await server.token({ role: 'admin', name: 'Admin' })
  const context = await browser.newContext()
  const home = await context.newPage()
  await home.goto(`${server.url}/?token=${admin}`)
  await expect(home.getByTestId('document-list')).toContainText('No documents yet')
  await home.getByRole('button', { name: 'New document' }).click()
  await expect(home).toHaveURL(/\/d\/doc-/)
  const name = decodeURIComponent(new URL(home.url()).pathname.slice('/d/'.length))
  await expect(home.getByTestId('connection-status')).toHaveText('Online')
  await home.locator('.prose').click()
  await home.keyboard.type('A brand new document.')
  await expect(home.getByTestId('save-status')).toHaveText('Saved')

  const ada = await openAs(browser, 'Ada Lovelace', '#7c3aed', await server.link(name, 'write'))
  // Back to the list in the same tab, which keeps the admin link's token.
  await home.goto(`${server.url}/`)
  const row = home.getByRole('row', { name: new RegExp(name) })
  await expect(row).toBeVisible()
  await expect(row).toContainText('Ada Lovelace')
  await row.getByRole('link', { name }).click()
  await expect.poll(() => documentText(home)).toBe('A brand new document.')
  expect(ada.errors).toEqual([])
})
