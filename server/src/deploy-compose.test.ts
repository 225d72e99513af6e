import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { CONFIG_VARIABLES } from './config.js'
import { NGINX_CONF, NGINX_TLS_CONF } from './test-support/nginx.js'
import { findDirectives, parseNginxConf } from './test-support/nginx-config.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface Service {
  image?: string
  build?: string | { context?: string }
  environment?: Record<string, string | number | boolean | null> | string[]
  healthcheck?: { test?: string | string[] }
  depends_on?: string[] | Record<string, { condition?: string }>
  volumes?: Array<string | { source?: string, target?: string }>
  ports?: string[]
}

interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

/** A compose file as Docker Compose reads it, `<<` merge keys resolved. */
function compose(file: string): Compose {
  return parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as Compose
}

/** The services that run the image built from the Dockerfile. */
function tandemServices(file: Compose): Array<[string, Service]> {
  return Object.entries(file.services).filter(([, service]) => service.build !== undefined)
}

function environment(service: Service): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((line) => line.split('=', 2) as [string, string])
    : Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value ?? '')] as [string, string])
  return Object.fromEntries(entries)
}

function dependencies(service: Service): Array<[string, string | undefined]> {
  if (Array.isArray(service.depends_on)) return service.depends_on.map((name) => [name, undefined])
  return Object.entries(service.depends_on ?? {}).map(([name, options]) => [name, options.condition])
}

/** `source:target[:mode]` of a bind mount, with the source resolved from the repository root. */
function bindMounts(service: Service): Array<{ source: string, target: string }> {
  return (service.volumes ?? []).flatMap((volume) => {
    if (typeof volume !== 'string') return []
    const [source, target] = volume.split(':')
    if (!source!.startsWith('.')) return []
    return [{ source: resolve(ROOT, source!), target: target! }]
  })
}

/** Every `${NAME…}` a compose file interpolates, from its parsed values. */
function interpolated(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const match of value.matchAll(/\$\{(\w+)/g)) found.add(match[1]!)
  } else if (Array.isArray(value)) {
    for (const item of value) interpolated(item, found)
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      interpolated(key, found)
      interpolated(item, found)
    }
  }
  return found
}

/** The Dockerfile's final stage: its instructions, continuation lines joined. */
function finalStage(): string[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  const from = lines.findLastIndex((line) => /^FROM\s/i.test(line))
  return lines.slice(from)
}

describe('deployment: the compose file and the image', () => {
  const file = compose('docker-compose.yml')
  const services = file.services

  it('[DP7] every service has an image or a build; postgres, redis and the replicas have health checks; every depends_on names a service and waits for it to be healthy', () => {
    assert.ok(services.postgres?.image?.startsWith('postgres:'), 'the official postgres image')
    assert.ok(services.redis?.image?.startsWith('redis:'), 'the official redis image')
    assert.ok(services.nginx?.image?.startsWith('nginx:'), 'the official nginx image')
    for (const [name, service] of Object.entries(services)) {
      assert.ok(service.image !== undefined || service.build !== undefined, `${name} has an image or a build`)
      for (const [dependency, condition] of dependencies(service)) {
        assert.ok(dependency in services, `${name} depends on ${dependency}, which is a service`)
        assert.equal(condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`)
      }
    }
    assert.match(JSON.stringify(services.postgres!.healthcheck?.test), /pg_isready/)
    assert.match(JSON.stringify(services.redis!.healthcheck?.test), /redis-cli.*ping/)
    const replicas = tandemServices(file)
    assert.deepEqual(replicas.map(([name]) => name), ['tandem-1', 'tandem-2'])
    const stage = finalStage()
    for (const [name, service] of replicas) {
      const build = typeof service.build === 'string' ? service.build : service.build?.context
      assert.equal(resolve(ROOT, build ?? '.'), resolve(ROOT), `${name} builds the repository's Dockerfile`)
      // Its health check is the image's own, unless compose overrides it.
      assert.ok(service.healthcheck !== undefined || stage.some((line) => /^HEALTHCHECK\s/.test(line)), `${name} has a health check`)
      assert.deepEqual(dependencies(service).map(([dependency]) => dependency).sort(), ['postgres', 'redis'])
    }
    assert.deepEqual(dependencies(services.nginx!).map(([dependency]) => dependency).sort(), ['tandem-1', 'tandem-2'])
    assert.ok(file.volumes !== undefined && 'postgres-data' in file.volumes, 'a named volume for Postgres')
    assert.ok(services.postgres!.volumes?.includes('postgres-data:/var/lib/postgresql/data'))
  })

  it('[DP8] the replicas get only variables Tandem reads, reach postgres and redis by service name, and listen where nginx.conf sends them', () => {
    const nginx = parseNginxConf(readFileSync(NGINX_CONF, 'utf8'))
    const upstreamServers = new Set(findDirectives(nginx, 'http', 'upstream')
      .flatMap((upstream) => findDirectives(upstream.children ?? [], 'server').map((server) => server.args[0]!)))
    for (const [name, service] of tandemServices(file)) {
      const env = environment(service)
      for (const key of Object.keys(env)) assert.ok(CONFIG_VARIABLES.includes(key), `${name}: Tandem does not read ${key}`)
      const database = new URL(env.DATABASE_URL!.replace(/\$\{[^}]*\}/g, 'secret'))
      assert.equal(database.protocol, 'postgres:')
      assert.equal(database.hostname, 'postgres')
      assert.equal(database.port || '5432', '5432')
      const redis = new URL(env.REDIS_URL!)
      assert.equal(redis.hostname, 'redis')
      assert.equal(redis.port || '6379', '6379')
      assert.equal(env.HOST, '0.0.0.0')
      assert.ok(upstreamServers.has(`${name}:${env.PORT}`), `nginx.conf sends to ${name}:${env.PORT}`)
    }
    assert.deepEqual([...upstreamServers].sort(), tandemServices(file).map(([name]) => `${name}:1234`))
    assert.match(environment(services.postgres!).POSTGRES_PASSWORD!, /\$\{POSTGRES_PASSWORD/)
    assert.match(environment(tandemServices(file)[0]![1]).DATABASE_URL!, /:\$\{POSTGRES_PASSWORD[^}]*\}@/)
  })

  it('[DP9] nginx mounts deploy/nginx.conf, the file the nginx tests render, and deploy/docker-compose.tls.yml mounts deploy/nginx-tls.conf; .env.example sets every variable the compose files use', () => {
    const mounts = bindMounts(services.nginx!)
    assert.deepEqual(mounts, [{ source: NGINX_CONF, target: '/etc/nginx/nginx.conf' }])
    assert.ok(existsSync(NGINX_CONF))
    assert.ok((services.nginx!.ports ?? []).some((port) => port.endsWith(':80')), 'nginx publishes its port 80')

    const tls = compose('deploy/docker-compose.tls.yml')
    const tlsMounts = bindMounts(tls.services.nginx!)
    assert.ok(tlsMounts.some((mount) => mount.source === NGINX_TLS_CONF && mount.target === '/etc/nginx/nginx.conf'))
    assert.ok(existsSync(NGINX_TLS_CONF))
    assert.ok(JSON.stringify(tls.services.nginx!.volumes).includes(':/etc/nginx/certs:ro'), 'the certificates are mounted where nginx-tls.conf reads them')

    const example = new Set(readFileSync(join(ROOT, '.env.example'), 'utf8')
      .split('\n')
      .map((line) => /^([A-Z_][A-Z0-9_]*)=/.exec(line)?.[1])
      .filter((name) => name !== undefined))
    const used = interpolated(tls, interpolated(file))
    assert.ok(used.has('POSTGRES_PASSWORD') && used.has('AUTH_SECRET'))
    for (const name of used) assert.ok(example.has(name), `.env.example sets ${name}`)
  })

  it('[DP10] the image runs node server/dist/main.js as a non-root user on 0.0.0.0, with a HEALTHCHECK on /healthz and production dependencies only', () => {
    const stage = finalStage()
    const user = stage.filter((line) => /^USER\s/.test(line)).at(-1)
    assert.ok(user !== undefined, 'the final stage sets USER')
    assert.doesNotMatch(user, /^USER\s+(root|0)(:|\s|$)/)
    const healthcheck = stage.find((line) => /^HEALTHCHECK\s/.test(line))
    assert.ok(healthcheck !== undefined && healthcheck.includes('/healthz'), 'a HEALTHCHECK on /healthz')
    assert.ok(stage.some((line) => /^ENV\s.*\bHOST=0\.0\.0\.0\b/.test(line)), 'HOST=0.0.0.0')
    assert.ok(stage.includes('CMD ["node", "server/dist/main.js"]'))
    assert.ok(stage.some((line) => /^RUN\s+npm ci\b.*--omit=dev/.test(line)), 'production dependencies only')
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')
    for (const pattern of ['**/node_modules', '.env', '.git']) assert.ok(ignored.includes(pattern), `.dockerignore has ${pattern}`)
  })
})
