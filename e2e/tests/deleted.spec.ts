import { expect, test } from '@playwright/test'
import { converged, documentText, openAs, type Person } from '../support/people.js'
import { TandemServer } from '../support/tandem-server.js'

let server: TandemServer

test.beforeEach(async () => {
  server = new TandemServer()
  await server.start()
})

test.afterEach(async () => {
  await server.dispose()
})

/** Whether the page's IndexedDB still holds the offline copy of `name`. */
function hasOfflineCopy(person: Person, name: string): Promise<boolean> {
  return person.page.evaluate(
    async (database) => (await indexedDB.databases()).some((entry) => entry.name === database),
    `tandem:${name}`,
  )
}

test('a document deleted while open says so, takes no more typing, and a reload does not bring it back', async ({ browser }, testInfo) => {
  const link = await server.link('doomed', 'write')
  const ada = await openAs(browser, 'Ada Lovelace', '#7c3aed', link)
  const bob = await openAs(browser, 'Bob Kahn', '#059669', link)
  await ada.editor.click()
  await ada.page.keyboard.type('Written before the delete.')
  await converged(ada, bob)
  await expect(ada.page.getByTestId('save-status')).toHaveText('Saved')
  await expect.poll(() => hasOfflineCopy(ada, 'doomed')).toBe(true)

  expect((await server.api('/doomed', { method: 'DELETE' })).status).toBe(204)

  for (const person of [ada, bob]) {
    const banner = person.page.getByTestId('deleted-banner')
    await expect(banner).toBeVisible()
    await expect(banner).toContainText('This document was deleted.')
    await expect(banner.getByRole('link', { name: 'Back to all documents' })).toHaveAttribute('href', '/')
    await expect(person.page.getByTestId('connection-status')).toHaveText('Deleted')
    await expect(person.editor).toHaveAttribute('contenteditable', 'false')
  }
  const screenshot = testInfo.outputPath('editor-document-deleted.png')
  await ada.page.screenshot({ path: screenshot })
  await testInfo.attach('editor after its document was deleted', { path: screenshot, contentType: 'image/png' })

  // Typing after the delete changes nothing, here or on the server.
  await ada.editor.click()
  await ada.page.keyboard.type('Typed after the delete.')
  expect(await documentText(ada.page)).not.toContain('Typed after the delete.')
  await expect.poll(() => hasOfflineCopy(ada, 'doomed')).toBe(false)
  expect((await server.api('/doomed')).status).toBe(404)

  // A reload finds no offline copy to write back, and the server refuses the name.
  await ada.page.reload()
  await expect(ada.page.getByTestId('deleted-banner')).toBeVisible()
  expect(await documentText(ada.page)).not.toContain('Written before the delete.')
  await expect.poll(() => hasOfflineCopy(ada, 'doomed')).toBe(false)
  expect((await server.api('/doomed')).status).toBe(404)
  expect((await server.api('/doomed/content?format=text')).status).toBe(404)
  const listed = (await (await server.api('')).json()) as { documents: Array<{ name: string }> }
  expect(listed.documents.map((entry) => entry.name)).not.toContain('doomed')
  expect([...ada.errors, ...bob.errors]).toEqual([])
})

test('a deleted name created again on purpose opens as a new document', async ({ browser }) => {
  expect((await server.api('/reborn/content', { method: 'PUT', headers: { 'content-type': 'text/markdown' }, body: 'First life.' })).status).toBe(200)
  expect((await server.api('/reborn', { method: 'DELETE' })).status).toBe(204)
  expect((await server.api('?name=reborn', { method: 'POST', headers: { 'content-type': 'text/markdown' }, body: 'Second life.' })).status).toBe(201)
  const ada = await openAs(browser, 'Ada', '#7c3aed', await server.link('reborn', 'write'))
  await expect(ada.editor).toContainText('Second life.')
  await expect(ada.page.getByTestId('deleted-banner')).toHaveCount(0)
  await ada.editor.click()
  await ada.page.keyboard.press('End')
  await ada.page.keyboard.type(' And more.')
  await expect.poll(async () => (await server.api('/reborn/content?format=text')).text()).toContain('Second life. And more.')
  expect(ada.errors).toEqual([])
})
