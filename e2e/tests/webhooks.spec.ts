import { expect, test } from '@playwright/test'
import { WebhookReceiver } from '../../server/src/test-support/webhook-receiver.js'
import { openAs } from '../support/people.js'
import { TandemServer } from '../support/tandem-server.js'

let server: TandemServer
let receiver: WebhookReceiver

test.beforeEach(async () => {
  receiver = await new WebhookReceiver().listen()
  // The receiver is on this machine: a private target, allowed on purpose.
  server = new TandemServer({ WEBHOOK_ALLOW_PRIVATE: 'true' })
  await server.start()
})

test.afterEach(async () => {
  await server.dispose()
  await receiver.close().catch(() => undefined)
})

test('[WH18] typing in the browser sends one signed document.updated, and again after the receiver was down', async ({ browser }) => {
  const registered = await fetch(`${server.url}/api/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await server.token({ role: 'admin' })}` },
    body: JSON.stringify({ url: receiver.url, events: ['document.updated'] }),
  })
  expect(registered.status).toBe(201)
  receiver.secret = ((await registered.json()) as { secret: string }).secret

  const ada = await openAs(browser, 'Ada Lovelace', '#7c3aed', await server.link('hooked', 'write'))
  await ada.editor.click()
  await ada.page.keyboard.type('Every keystroke is stored; the backend hears of it once.')
  await expect.poll(() => receiver.of('document.updated').length).toBe(1)
  const [first] = receiver.of('document.updated')
  expect(first!.data).toMatchObject({ document: 'hooked', editors: ['Ada Lovelace'], url: `${server.url}/api/documents/hooked/content` })
  await ada.page.waitForTimeout(2_500)
  expect(receiver.of('document.updated')).toHaveLength(1)

  // The receiver goes away; what is typed meanwhile is told once it is back.
  const port = await receiver.close()
  await ada.page.keyboard.type(' Typed while the backend was down.')
  await ada.page.waitForTimeout(4_000)
  await receiver.listen(port)
  await expect.poll(() => receiver.of('document.updated').length, { timeout: 30_000 }).toBe(2)
  expect(receiver.of('document.updated')[1]!.id).not.toBe(first!.id)
  expect(receiver.unverified).toEqual([])
  expect(ada.errors).toEqual([])
})
