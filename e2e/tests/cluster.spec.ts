import { expect, test } from '@playwright/test'
import type { Cluster } from '../../server/src/test-support/cluster.js'
import { startCluster } from '../../server/src/test-support/cluster.js'
import type { Nginx } from '../../server/src/test-support/nginx.js'
import { nginxSkipReason, startNginx } from '../../server/src/test-support/nginx.js'
import { redisSkipReason } from '../../server/src/test-support/redis.js'
import { converged, documentText, openAs } from '../support/people.js'

let cluster: Cluster
let nginx: Nginx

/** Open Hocuspocus sockets (the editor's) on each replica, from its `/metrics`. */
async function editorSockets(): Promise<number[]> {
  return Promise.all(cluster.instances.map(async (instance) => {
    const text = await (await fetch(`${instance.url}/metrics`)).text()
    return Number(/^tandem_connections\{protocol="hocuspocus"\} (\d+)$/m.exec(text)?.[1] ?? 0)
  }))
}

test.beforeAll(async () => {
  const skip = nginxSkipReason() ?? await redisSkipReason()
  test.skip(skip !== undefined, skip)
  // The compose file's topology: two replicas on one Postgres and one Redis, nginx in front.
  cluster = await startCluster([{}, {}])
  nginx = await startNginx({
    upstreams: Object.fromEntries(cluster.instances.map((instance, index) => [
      `tandem-${index + 1}:1234`,
      new URL(instance.url).host,
    ])),
  })
})

test.afterAll(async () => {
  await nginx?.stop()
  await cluster?.dispose()
})

test('[DP11] two people open the editor through nginx, land on different replicas, co-edit and see each other', async ({ browser }, testInfo) => {
  const url = `${nginx.url}/d/launch-plan`
  const ada = await openAs(browser, 'Ada Lovelace', '#7c3aed', url)
  const bob = await openAs(browser, 'Bob Kahn', '#059669', url)
  // least_conn: with Ada's socket on one replica, Bob's goes to the other, so every edit
  // and every presence change crosses Redis.
  await expect.poll(editorSockets).toEqual([1, 1])

  await ada.editor.click()
  await ada.page.keyboard.type('Ada, through nginx on one replica. ')
  await bob.editor.click()
  await bob.page.keyboard.press('End')
  await bob.page.keyboard.type('Bob, on the other.')
  const text = await converged(ada, bob)
  expect(text).toContain('Ada, through nginx on one replica.')
  expect(text).toContain('Bob, on the other.')

  await expect(ada.page.getByTestId('presence')).toContainText('Bob Kahn')
  await expect(bob.page.getByTestId('presence')).toContainText('Ada Lovelace')
  await expect(ada.page.locator('.collaboration-carets__label', { hasText: 'Bob Kahn' })).toBeVisible()
  await expect(bob.page.locator('.collaboration-carets__label', { hasText: 'Ada Lovelace' })).toBeVisible()
  await expect(ada.page.getByTestId('save-status')).toHaveText('Saved')
  const screenshot = testInfo.outputPath('cluster-two-replicas.png')
  await ada.page.screenshot({ path: screenshot })
  await testInfo.attach('the editor through nginx, Bob on the other replica', { path: screenshot, contentType: 'image/png' })

  // Whoever opens it next, on either replica, reads what both wrote.
  const carol = await openAs(browser, 'Carol Shaw', '#d97706', url)
  await expect.poll(() => documentText(carol.page)).toBe(text)
  expect([...ada.errors, ...bob.errors, ...carol.errors]).toEqual([])
})
