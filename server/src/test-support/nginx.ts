import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withTimeout } from './clients.js'
import { freePort } from './free-port.js'

/** The nginx configuration docker-compose.yml mounts. */
export const NGINX_CONF = fileURLToPath(new URL('../../../deploy/nginx.conf', import.meta.url))
/** Its TLS variant, mounted by deploy/docker-compose.tls.yml. */
export const NGINX_TLS_CONF = fileURLToPath(new URL('../../../deploy/nginx-tls.conf', import.meta.url))
/** Debian's nginx (`apt-get install nginx`), or NGINX_PATH. */
export const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx'

/**
 * Checks that nginx is installed. Under `CI=true` a missing nginx throws (the deployment tests
 * must not pass by skipping); elsewhere it gives the reason to skip with.
 */
export function nginxSkipReason(): string | undefined {
  if (existsSync(NGINX_PATH)) return undefined
  const reason = `nginx is not installed at ${NGINX_PATH} (apt-get install -y nginx, or set NGINX_PATH)`
  if (process.env.CI === 'true') throw new Error(`${reason}: CI needs it for the deployment tests`)
  return reason
}

/** Where the rendered configuration sends what the compose file sends to a container. */
export interface RenderOptions {
  /** `tandem-1:1234` → `127.0.0.1:<port>`, one entry per upstream server of the file. */
  readonly upstreams: Readonly<Record<string, string>>
  /** The port nginx listens on (127.0.0.1) instead of 80; the TLS variant's 443 goes to `tlsPort`. */
  readonly port: number
  readonly tlsPort?: number
  /** A writable directory for the pid file, temp files and the certificate. */
  readonly prefix: string
  /** The certificate and key for the TLS variant. */
  readonly certificate?: { readonly cert: string, readonly key: string }
}

/**
 * The only lines the tests change in the compose file's nginx configuration, besides the
 * listen ports and upstream servers: paths that need root in a container's file system.
 */
export const RUNTIME_PATHS = (prefix: string): ReadonlyArray<readonly [string, string]> => [
  ['/var/run/nginx.pid', join(prefix, 'nginx.pid')],
  ['/var/cache/nginx/', `${join(prefix, 'cache')}/`],
  ['/var/log/nginx/', `${join(prefix, 'logs')}/`],
  ['/etc/nginx/certs/', `${join(prefix, 'certs')}/`],
]

/**
 * The configuration `text` with the substitutions above and nothing else. Throws when an
 * upstream or the listen port is missing from it, so the file cannot drift away from what
 * the tests run.
 */
export function renderNginxConf(text: string, options: RenderOptions): string {
  let rendered = text
  for (const [from, to] of Object.entries(options.upstreams)) {
    const line = new RegExp(`^(\\s*server\\s+)${escape(from)}(\\s|;)`, 'gm')
    if (!line.test(rendered)) throw new Error(`no upstream server ${from} in the nginx configuration`)
    rendered = rendered.replace(line, `$1${to}$2`)
  }
  const listen = /^(\s*listen\s+)80;/m
  if (!listen.test(rendered)) throw new Error('no "listen 80;" in the nginx configuration')
  rendered = rendered.replace(listen, `$1127.0.0.1:${options.port};`)
  if (options.tlsPort !== undefined) {
    rendered = rendered.replace(/^(\s*listen\s+)443 ssl;/m, `$1127.0.0.1:${options.tlsPort} ssl;`)
  }
  for (const [from, to] of RUNTIME_PATHS(options.prefix)) rendered = rendered.split(from).join(to)
  return rendered
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** A running nginx on a rendered copy of a configuration. */
export interface Nginx {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `ws://127.0.0.1:<port>/collab` */
  readonly wsUrl: string
  readonly port: number
  /** The `https://` address of the TLS variant's server. */
  readonly tlsUrl: string | undefined
  /** What nginx wrote to its error log (stderr). */
  output(): string
  /** Its access log so far. */
  accessLog(): Promise<string>
  /** SIGTERM: nginx closes every connection at once; resolves once it has exited and its files are gone. */
  stop(): Promise<void>
}

/** Starts Debian's nginx on `conf` (a file of deploy/), rendered with {@link renderNginxConf}. */
export async function startNginx(options: {
  readonly conf?: string
  readonly upstreams: Readonly<Record<string, string>>
  readonly tls?: boolean
}): Promise<Nginx> {
  const prefix = await mkdtemp(join(tmpdir(), 'tandem-nginx-'))
  // Workers run as an unprivileged user when the tests run as root: they must reach the temp paths.
  await chmod(prefix, 0o755)
  await mkdir(join(prefix, 'cache'))
  await mkdir(join(prefix, 'logs'))
  const port = await freePort()
  const tlsPort = options.tls === true ? await freePort() : undefined
  if (options.tls === true) await writeCertificate(join(prefix, 'certs'))
  const conf = join(prefix, 'nginx.conf')
  await writeFile(conf, renderNginxConf(await readFile(options.conf ?? NGINX_CONF, 'utf8'), {
    upstreams: options.upstreams,
    port,
    tlsPort,
    prefix,
  }))
  // -e: the error log before the configuration is read; `daemon off` as the official image runs it.
  const child = spawn(NGINX_PATH, ['-p', prefix, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await withTimeout(exited, 5000, 'nginx did not stop')
    await rm(prefix, { recursive: true, force: true })
  }
  try {
    await listening(port, child, () => output)
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/collab`,
    port,
    tlsUrl: tlsPort === undefined ? undefined : `https://127.0.0.1:${tlsPort}`,
    output: () => output,
    accessLog: () => readFile(join(prefix, 'logs', 'access.log'), 'utf8'),
    stop,
  }
}

/** Runs `nginx -t` on a rendered copy of `conf`; resolves with its exit code and output. */
export async function testNginxConf(
  conf: string,
  upstreams: Readonly<Record<string, string>>,
): Promise<{ code: number | null, output: string }> {
  const prefix = await mkdtemp(join(tmpdir(), 'tandem-nginx-'))
  try {
    await mkdir(join(prefix, 'cache'))
    await mkdir(join(prefix, 'logs'))
    await writeCertificate(join(prefix, 'certs'))
    const rendered = join(prefix, 'nginx.conf')
    await writeFile(rendered, renderNginxConf(await readFile(conf, 'utf8'), {
      upstreams,
      port: await freePort(),
      tlsPort: await freePort(),
      prefix,
    }))
    const child = spawn(NGINX_PATH, ['-t', '-p', prefix, '-c', rendered, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    return { code, output }
  } finally {
    await rm(prefix, { recursive: true, force: true })
  }
}

/** A self-signed certificate for 127.0.0.1, as `tandem.crt` and `tandem.key` in `directory`. */
async function writeCertificate(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true })
  const child = spawn('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', join(directory, 'tandem.key'), '-out', join(directory, 'tandem.crt'),
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`openssl could not make a test certificate: ${stderr}`)
}

async function listening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${output()}`)
    try {
      // Any answer, even a 502 from a replica not up yet, means nginx listens.
      await fetch(`http://127.0.0.1:${port}/healthz`, { redirect: 'manual' })
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  throw new Error(`nginx did not listen on ${port} within 10 s: ${output()}`)
}
