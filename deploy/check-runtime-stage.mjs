// Replays the Dockerfile's final stage without a Docker engine, then runs the result:
//
//   node deploy/check-runtime-stage.mjs [--no-build]
//
// 1. `npm run build` here (the build stage's last step; --no-build reuses the current outputs),
// 2. copies exactly what the final stage's `COPY --from=build` lines copy into a temporary
//    directory standing for its WORKDIR,
// 3. runs the stage's `npm …` RUN commands there (other RUN lines, such as making /data,
//    need root and are listed as skipped),
// 4. starts its CMD with its ENV (PORT moved to a free port) on a temporary Postgres database
//    and a Redis key prefix (DATABASE_URL and REDIS_URL as for the tests, defaulting to the
//    machine's), runs the HEALTHCHECK command against it, and checks /healthz, /readyz, the
//    editor page and its script, and an HTTP write and export (the server's schema import).
//
// It cannot check what only an engine does: the base image, users and file ownership, the
// .dockerignore'd build context, and files a stale local build left in dist/ that a fresh
// image build would not have. Takes about half a minute; not part of `npm test`.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { SignJWT } from 'jose'
import pg from 'pg'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ADMIN_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Packages only the build needs: none may be in the runtime stage's node_modules. */
const DEV_ONLY = ['typescript', 'vite', 'tsx', '@playwright/test', 'eslint', 'typescript-eslint']

function step(message) {
  process.stdout.write(`check-runtime-stage: ${message}\n`)
}

/** The final stage's instructions, continuation lines joined, comments dropped. */
function finalStage() {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  const from = lines.findLastIndex((line) => /^FROM\s/i.test(line))
  return lines.slice(from + 1).map((line) => {
    const [, instruction, rest] = /^(\w+)\s+(.*)$/.exec(line)
    return { instruction: instruction.toUpperCase(), rest }
  })
}

/** `KEY=value KEY2=value2` of an ENV line (unquoted values, as this Dockerfile writes them). */
function envOf(rest) {
  return Object.fromEntries(rest.split(/\s+/).map((pair) => pair.split('=', 2)))
}

/** The arguments of an exec-form (JSON array) instruction. */
function execForm(rest) {
  const args = JSON.parse(rest.replace(/^(--\S+\s+)*CMD\s+/, ''))
  if (!Array.isArray(args)) throw new Error(`not an exec form: ${rest}`)
  return args
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

async function withAdmin(work) {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL })
  await client.connect()
  try {
    await work(client)
  } finally {
    await client.end()
  }
}

async function expectOk(url, init) {
  const response = await fetch(url, init)
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${await response.text()}`)
  return response
}

async function main() {
  if (!process.argv.includes('--no-build')) {
    step('npm run build')
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
  }
  const stage = finalStage()
  const workdir = stage.find((entry) => entry.instruction === 'WORKDIR')?.rest ?? '/'
  const app = mkdtempSync(join(tmpdir(), 'tandem-runtime-stage-'))
  const database = `tandem_test_${randomBytes(6).toString('hex')}`
  const prefix = `tandem-test:${randomBytes(6).toString('hex')}:`
  let server
  try {
    for (const { instruction, rest } of stage) {
      if (instruction !== 'COPY') continue
      const parts = rest.split(/\s+/)
      if (parts[0] !== '--from=build') throw new Error(`the final stage copies from elsewhere than the build stage: ${rest}`)
      const destination = parts.at(-1)
      for (const source of parts.slice(1, -1)) {
        // Build-stage paths are under its WORKDIR, which is this checkout.
        const local = join(ROOT, posix.relative(workdir, source))
        if (!existsSync(local)) throw new Error(`${source} does not exist after the build (${local})`)
        const target = statSync(local).isDirectory() || !destination.endsWith('/')
          ? join(app, destination)
          : join(app, destination, basename(local))
        mkdirSync(dirname(target), { recursive: true })
        cpSync(local, target, { recursive: true })
        step(`COPY ${source} -> ${destination}`)
      }
    }
    for (const { instruction, rest } of stage) {
      if (instruction !== 'RUN') continue
      for (const command of rest.split('&&').map((part) => part.trim())) {
        if (!command.startsWith('npm ')) {
          step(`skipped (needs root or the image): RUN ${command}`)
          continue
        }
        step(`RUN ${command}`)
        // A cache of its own: the stage's `npm cache clean` must not empty this machine's.
        execFileSync('sh', ['-c', command], {
          cwd: app,
          stdio: 'inherit',
          env: { ...process.env, npm_config_cache: join(app, '.npm-cache') },
        })
      }
    }
    for (const name of DEV_ONLY) {
      if (existsSync(join(app, 'node_modules', name))) throw new Error(`the runtime stage has the dev dependency ${name}`)
    }

    await withAdmin((client) => client.query(`CREATE DATABASE ${database}`))
    const databaseUrl = new URL(ADMIN_DATABASE_URL)
    databaseUrl.pathname = `/${database}`
    const secret = randomBytes(32).toString('hex')
    const port = await freePort()
    const env = {
      PATH: process.env.PATH,
      ...Object.assign({}, ...stage.filter((entry) => entry.instruction === 'ENV').map((entry) => envOf(entry.rest))),
      PORT: String(port),
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL,
      REDIS_PREFIX: prefix,
      AUTH_SECRET: secret,
    }
    const [command, ...args] = execForm(stage.find((entry) => entry.instruction === 'CMD').rest)
    step(`CMD ${[command, ...args].join(' ')} with ${Object.keys(env).join(', ')}`)
    server = spawn(command === 'node' ? process.execPath : command, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'inherit'] })
    let log = ''
    server.stdout.on('data', (chunk) => {
      log += chunk
    })
    const exited = new Promise((resolve) => server.once('exit', resolve))
    const listening = new Promise((resolve) => {
      server.stdout.on('data', () => {
        if (/listening on/.test(log)) resolve()
      })
    })
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the server did not listen within 20 s')), 20_000))
    await Promise.race([listening, exited.then((code) => {
      throw new Error(`the server exited with ${code}: ${log}`)
    }), timeout])
    const url = `http://127.0.0.1:${port}`

    const healthcheck = stage.find((entry) => entry.instruction === 'HEALTHCHECK')
    const [checkCommand, ...checkArgs] = execForm(healthcheck.rest.replace(/^(--\S+\s+)*/, ''))
    step(`HEALTHCHECK ${checkCommand} ${checkArgs.join(' ')}`)
    execFileSync(checkCommand === 'node' ? process.execPath : checkCommand, checkArgs, { env, stdio: 'inherit', timeout: 5000 })

    await expectOk(`${url}/healthz`)
    await expectOk(`${url}/readyz`)
    const page = await (await expectOk(`${url}/d/plan`)).text()
    const script = /<script[^>]+src="([^"]+)"/.exec(page)?.[1]
    if (script === undefined) throw new Error(`the editor page has no script: ${page.slice(0, 200)}`)
    await expectOk(new URL(script, url))
    step(`the editor page and ${script} are served`)

    const token = await new SignJWT({ docs: ['*'], role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('check')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))
    const authorization = { authorization: `Bearer ${token}` }
    await expectOk(`${url}/api/documents/plan/content`, {
      method: 'PUT',
      headers: { ...authorization, 'content-type': 'text/markdown' },
      body: '# Plan\n\nWritten **through** the runtime stage.',
    })
    const html = await (await expectOk(`${url}/api/documents/plan/content?format=html`, { headers: authorization })).text()
    if (!html.includes('<h1>Plan</h1>') || !html.includes('<strong>through</strong>')) {
      throw new Error(`the HTML export lost content: ${html}`)
    }
    step('Markdown import and HTML export round-trip (the editor schema in editor/dist-schema)')

    server.kill('SIGTERM')
    const code = await exited
    if (code !== 0) throw new Error(`the server exited with ${code} on SIGTERM`)
    server = undefined
    step('ok: the runtime stage starts, serves the editor and the API, and stops cleanly')
  } finally {
    server?.kill('SIGKILL')
    rmSync(app, { recursive: true, force: true })
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
    const redis = new Redis(REDIS_URL)
    try {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
  }
}

await main()
