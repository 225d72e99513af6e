import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { after, before, describe, it } from 'node:test'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { connectProvider, converged, disconnect, synced, withTimeout } from './test-support/clients.js'
import type { Cluster } from './test-support/cluster.js'
import { startCluster } from './test-support/cluster.js'
import { connectHocuspocus, disconnectHocuspocus, hocuspocusSynced } from './test-support/hocuspocus.js'
import type { Nginx } from './test-support/nginx.js'
import { NGINX_CONF, NGINX_TLS_CONF, nginxSkipReason, startNginx, testNginxConf } from './test-support/nginx.js'
import type { Directive } from './test-support/nginx-config.js'
import { findDirective, findDirectives, parseNginxConf } from './test-support/nginx-config.js'
import { redisSkipReason } from './test-support/redis.js'

const skip = nginxSkipReason() ?? await redisSkipReason()
const TEST_TIMEOUT_MS = 60_000
const ALLOWED_ORIGIN = 'http://allowed.example'

/** The compose file's replicas, as nginx.conf names them, on this cluster's ports. */
function upstreams(cluster: Cluster): Record<string, string> {
  return Object.fromEntries(cluster.instances.map((instance, index) => [
    `tandem-${index + 1}:1234`,
    new URL(instance.url).host,
  ]))
}

/** Open WebSockets of `protocol` on each instance, from its `/metrics`. */
async function connections(cluster: Cluster, protocol: 'y-websocket' | 'hocuspocus'): Promise<number[]> {
  return Promise.all(cluster.instances.map(async (instance) => {
    const text = await (await fetch(`${instance.url}/metrics`)).text()
    const match = new RegExp(`^tandem_connections\\{protocol="${protocol}"\\} (\\d+)$`, 'm').exec(text)
    return match === null ? 0 : Number(match[1])
  }))
}

/** A stock y-websocket client with a query of its own, as a token would give it. */
function providerWithQuery(wsUrl: string, name: string, query: Record<string, string>): WebsocketProvider {
  return new WebsocketProvider(wsUrl, name, new Y.Doc(), {
    params: query,
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 100,
  })
}

/** The HTTP status nginx and Tandem answer a WebSocket upgrade from `origin` with (101 when opened). */
function upgradeStatus(url: string, origin: string): Promise<number> {
  const socket = new WebSocket(url, { origin })
  return withTimeout(new Promise<number>((resolve, reject) => {
    socket.once('open', () => {
      socket.close()
      resolve(101)
    })
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0)
      socket.terminate()
    })
    socket.once('error', reject)
  }), 5000, 'the upgrade got no answer')
}

/** GET over https, trusting any certificate (the test's own, self-signed). */
function httpsGet(url: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { rejectUnauthorized: false }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    }).on('error', reject).end()
  })
}

describe('deployment: nginx in front of two replicas', { skip, timeout: TEST_TIMEOUT_MS }, () => {
  let cluster: Cluster
  let nginx: Nginx

  before(async () => {
    const env = { ALLOWED_ORIGINS: ALLOWED_ORIGIN, UNLOAD_DELAY_MS: '0' }
    cluster = await startCluster([{ env }, { env }])
    nginx = await startNginx({ upstreams: upstreams(cluster) })
  })

  after(async () => {
    await nginx?.stop()
    await cluster?.dispose()
  })

  it('[DP1] y-websocket sockets of one document meet on one replica, whatever their query; documents spread over both; all converge', async () => {
    // A name nginx sees percent-encoded, and plain ones.
    const names = ['café-plan', ...Array.from({ length: 15 }, (_, index) => `plan-${index}`)]
    const replicaOf = new Map<string, number>()
    const providers: WebsocketProvider[] = []
    try {
      for (const name of names) {
        const before = await connections(cluster, 'y-websocket')
        const pair = [
          providerWithQuery(nginx.wsUrl, name, { token: 'first-user' }),
          providerWithQuery(nginx.wsUrl, name, { token: 'second-user', other: 'x' }),
        ]
        providers.push(...pair)
        await Promise.all(pair.map((provider) => synced(provider)))
        const now = await connections(cluster, 'y-websocket')
        const added = now.map((count, index) => count - before[index]!)
        assert.equal(added.filter((count) => count === 2).length, 1, `${name}: both sockets on one replica (added ${added})`)
        assert.equal(added.reduce((sum, count) => sum + count), 2)
        replicaOf.set(name, added.indexOf(2))
        pair[0]!.doc.getText('text').insert(0, `from the first on ${name};`)
        pair[1]!.doc.getText('text').insert(0, `from the second on ${name};`)
        await converged(pair.map((provider) => provider.doc))
      }
      assert.deepEqual(new Set(replicaOf.values()), new Set([0, 1]), 'the documents used both replicas')
      // A third socket of a document opened later still lands where the first two are.
      const later = providerWithQuery(nginx.wsUrl, 'café-plan', {})
      providers.push(later)
      const before = await connections(cluster, 'y-websocket')
      await synced(later)
      const now = await connections(cluster, 'y-websocket')
      assert.equal(now[replicaOf.get('café-plan')!]! - before[replicaOf.get('café-plan')!]!, 1)
      assert.match(later.doc.getText('text').toString(), /from the first on café-plan;/)
    } finally {
      disconnect(...providers)
    }
  })

  it('[DP2] Hocuspocus sockets are balanced over both replicas and converge with y-websocket clients of the same document', async () => {
    const before = await connections(cluster, 'hocuspocus')
    const hocuspocus = Array.from({ length: 4 }, () => connectHocuspocus(nginx.wsUrl, 'balanced'))
    const yjs = connectProvider(nginx.wsUrl, 'balanced')
    try {
      await Promise.all([...hocuspocus.map((provider) => hocuspocusSynced(provider)), synced(yjs)])
      const now = await connections(cluster, 'hocuspocus')
      const added = now.map((count, index) => count - before[index]!)
      assert.deepEqual(added, [2, 2], 'least_conn puts two of four sockets on each replica')
      hocuspocus.forEach((provider, index) => provider.document.getText('text').insert(0, `hocuspocus ${index};`))
      yjs.doc.getText('text').insert(0, 'y-websocket;')
      const docs = [...hocuspocus.map((provider) => provider.document), yjs.doc]
      await converged(docs)
      assert.equal(docs[0]!.getText('text').toString().split(';').filter(Boolean).length, 5)
    } finally {
      disconnectHocuspocus(...hocuspocus)
      disconnect(yjs)
    }
  })

  it('[DP3] nginx forwards Origin: a replica with ALLOWED_ORIGINS refuses a wrong one through it, on both endpoints; the editor, /healthz and the API answer through it', async () => {
    assert.equal(await upgradeStatus(`${nginx.wsUrl}/origins`, 'http://evil.example'), 403)
    assert.equal(await upgradeStatus(nginx.wsUrl, 'http://evil.example'), 403)
    assert.equal(await upgradeStatus(`${nginx.wsUrl}/origins`, ALLOWED_ORIGIN), 101)
    assert.equal(await upgradeStatus(nginx.wsUrl, ALLOWED_ORIGIN), 101)

    assert.deepEqual(await (await fetch(`${nginx.url}/healthz`)).json(), { status: 'ok' })
    const page = await fetch(`${nginx.url}/d/plan`)
    assert.equal(page.status, 200)
    assert.match(await page.text(), /<title>Tandem<\/title>/)
    // A write and reads balanced over both replicas agree.
    const put = await fetch(`${nginx.url}/api/documents/through-nginx/content`, {
      method: 'PUT',
      headers: { 'content-type': 'text/markdown' },
      body: 'Written through nginx',
    })
    assert.ok(put.ok, `PUT answered ${put.status}`)
    for (let read = 0; read < 4; read++) {
      const text = await (await fetch(`${nginx.url}/api/documents/through-nginx/content?format=text`)).text()
      assert.match(text, /Written through nginx/)
    }
  })

  it('[DP4] the TLS variant serves https:// and wss:// on the same replicas', async () => {
    const tls = await startNginx({ conf: NGINX_TLS_CONF, upstreams: upstreams(cluster), tls: true })
    const provider = new WebsocketProvider(`${tls.tlsUrl!.replace('https', 'wss')}/collab`, 'over-tls', new Y.Doc(), {
      WebSocketPolyfill: class extends WebSocket {
        constructor(url: string) {
          super(url, { rejectUnauthorized: false })
        }
      } as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    })
    try {
      const health = await httpsGet(`${tls.tlsUrl!}/healthz`)
      assert.equal(health.status, 200)
      const redirect = await fetch(`${tls.url}/d/plan`, { redirect: 'manual' })
      assert.equal(redirect.status, 308)
      assert.equal(redirect.headers.get('location'), `https://127.0.0.1/d/plan`)
      await synced(provider)
      const plain = connectProvider(nginx.wsUrl, 'over-tls')
      try {
        await synced(plain)
        provider.doc.getText('text').insert(0, 'over TLS')
        await converged([provider.doc, plain.doc])
      } finally {
        disconnect(plain)
      }
    } finally {
      disconnect(provider)
      await tls.stop()
    }
  })
})

/** The value of the one `name` directive in `directives` (a server or location block). */
function value(directives: readonly Directive[], name: string): string {
  return findDirective(directives, name).args.join(' ')
}

/** `proxy_set_header` values in `directives`, by header name (lower case). */
function proxyHeaders(directives: readonly Directive[]): Map<string, string> {
  return new Map(findDirectives(directives, 'proxy_set_header').map((directive) => [
    directive.args[0]!.toLowerCase(),
    directive.args.slice(1).join(' '),
  ]))
}

/** Seconds in an nginx time like `3600s`, `60m` or `1h`. */
function seconds(time: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(time)
  assert.ok(match, `${time} is an nginx time`)
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd']
}

/** The proxied server block of a configuration: the one whose locations proxy to Tandem. */
function proxyServer(config: readonly Directive[]): readonly Directive[] {
  const servers = findDirectives(config, 'http', 'server')
    .map((server) => server.children ?? [])
    .filter((children) => findDirectives(children, 'location').some((location) =>
      findDirectives(location.children ?? [], 'proxy_pass').length > 0))
  assert.equal(servers.length, 1, 'one server block proxies to Tandem')
  return servers[0]!
}

/** The upstream `location` of `path` (its args as written, `= /collab` or `/collab/`) proxies to. */
function upstreamOf(server: readonly Directive[], ...path: string[]): string {
  const location = findDirectives(server, 'location').find((candidate) => candidate.args.join(' ') === path.join(' '))
  assert.ok(location, `a location ${path.join(' ')}`)
  return value(location.children ?? [], 'proxy_pass').replace(/^http:\/\//, '')
}

describe('deployment: the nginx configuration', { skip: nginxSkipReason(), timeout: TEST_TIMEOUT_MS }, () => {
  it('[DP5] routes /collab/<document> by a consistent hash of the raw path segment, /collab and the rest balanced; keeps sockets open for an hour; forwards Upgrade, Origin, Host and X-Forwarded-*', async () => {
    const config = parseNginxConf(await readFile(NGINX_CONF, 'utf8'))
    const server = proxyServer(config)
    const upstreamsByName = new Map(findDirectives(config, 'http', 'upstream').map((upstream) => [upstream.args[0]!, upstream.children ?? []]))

    const byDocument = upstreamsByName.get(upstreamOf(server, '/collab/'))
    assert.ok(byDocument, '/collab/ proxies to an upstream block')
    const hash = findDirective(byDocument, 'hash').args
    assert.equal(hash[1], 'consistent')
    const map = findDirectives(config, 'http', 'map').find((candidate) => candidate.args[1] === hash[0])
    assert.ok(map, `${hash[0]} comes from a map`)
    // The raw request line, not $uri (decoded) and not $args (each user's token).
    assert.equal(map.args[0], '$request_uri')
    const pattern = (map.children ?? []).find((entry) => entry.name.startsWith('~'))!
    const regex = new RegExp(pattern.name.slice(1))
    const capture = (uri: string) => {
      const match = regex.exec(uri)
      return match === null ? '' : pattern.args[0]!.replace(/\$(\w+)/g, (_, group: string) => match.groups?.[group] ?? match[Number(group)] ?? '')
    }
    assert.equal(capture('/collab/caf%C3%A9?token=a'), 'caf%C3%A9')
    assert.equal(capture('/collab/caf%C3%A9?token=b&x=1'), 'caf%C3%A9')
    assert.equal(capture('/collab/plan'), 'plan')
    assert.equal(capture('/collab'), '')

    for (const path of [['=', '/collab'], ['/']]) {
      const balanced = upstreamsByName.get(upstreamOf(server, ...path))
      assert.ok(balanced, `${path.join(' ')} proxies to an upstream block`)
      assert.equal(findDirectives(balanced, 'hash').length, 0, `${path.join(' ')} is not pinned`)
      assert.equal(findDirectives(balanced, 'least_conn').length, 1)
    }
    for (const upstream of upstreamsByName.values()) {
      assert.deepEqual(findDirectives(upstream, 'server').map((entry) => entry.args[0]), ['tandem-1:1234', 'tandem-2:1234'])
    }

    assert.equal(value(server, 'proxy_http_version'), '1.1')
    assert.ok(seconds(value(server, 'proxy_read_timeout')) >= 3600, 'proxy_read_timeout of an hour at least')
    assert.ok(seconds(value(server, 'proxy_send_timeout')) >= 3600, 'proxy_send_timeout of an hour at least')
    const headers = proxyHeaders(server)
    assert.equal(headers.get('upgrade'), '$http_upgrade')
    const connection = headers.get('connection')!
    const upgradeMap = findDirectives(config, 'http', 'map').find((candidate) => candidate.args[1] === connection)
    assert.ok(upgradeMap, 'Connection comes from a map of $http_upgrade')
    assert.equal(upgradeMap.args[0], '$http_upgrade')
    assert.equal(value(upgradeMap.children ?? [], 'default'), 'upgrade')
    assert.equal(headers.get('origin'), '$http_origin')
    assert.equal(headers.get('host'), '$http_host')
    assert.equal(headers.get('x-forwarded-for'), '$proxy_add_x_forwarded_for')
    assert.equal(headers.get('x-forwarded-proto'), '$scheme')
    // A proxy_set_header inside a location would silently drop every one set on the server.
    for (const location of findDirectives(server, 'location')) {
      assert.equal(findDirectives(location.children ?? [], 'proxy_set_header').length, 0)
    }
    // Tokens travel in the query: the access log must not write it.
    for (const format of findDirectives(config, 'http', 'log_format')) {
      assert.doesNotMatch(format.args.join(' '), /\$request\b|\$request_uri|\$args|\$query_string/)
    }
    const accessLog = findDirective(config, 'http', 'access_log').args
    assert.ok(accessLog[1] !== undefined && accessLog[1] !== 'combined', 'the access log uses a format without the query')
  })

  it('[DP6] the TLS variant differs from nginx.conf only in its server blocks, and nginx accepts both', async () => {
    const plain = parseNginxConf(await readFile(NGINX_CONF, 'utf8'))
    const tls = parseNginxConf(await readFile(NGINX_TLS_CONF, 'utf8'))
    const withoutServers = (config: Directive[]) => config.map((directive) => directive.name === 'http'
      ? { ...directive, children: (directive.children ?? []).filter((child) => child.name !== 'server') }
      : directive)
    assert.deepEqual(withoutServers(tls), withoutServers(plain))
    assert.deepEqual(proxyServer(tls).filter((directive) => !directive.name.startsWith('ssl_') && !['listen', 'add_header'].includes(directive.name)),
      proxyServer(plain).filter((directive) => directive.name !== 'listen'))
    assert.deepEqual(findDirective(proxyServer(tls), 'listen').args, ['443', 'ssl'])
    const names = { 'tandem-1:1234': '127.0.0.1:1', 'tandem-2:1234': '127.0.0.1:2' }
    for (const conf of [NGINX_CONF, NGINX_TLS_CONF]) {
      const { code, output } = await testNginxConf(conf, names)
      assert.equal(code, 0, `nginx -t on ${conf}: ${output}`)
    }
  })
})
