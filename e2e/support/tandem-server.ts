import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignJWT } from 'jose'
import { freePort } from '../../server/src/test-support/free-port.js'

const MAIN = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url))
const SECRET = 'e2e-secret-that-is-long-enough-for-hs256-tokens'

/** A real Tandem (the built server, as `npm start` runs it) on a free port and a temp data dir. */
export class TandemServer {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'tandem-e2e-'))
  #process: ChildProcess | null = null
  #port = 0

  /** `env`: more environment for the server (e.g. `ALLOWED_ORIGINS`), over the defaults. */
  constructor(private readonly env: Record<string, string> = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.#port}`
  }

  async start(): Promise<void> {
    if (this.#port === 0) this.#port = await freePort()
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        PORT: String(this.#port),
        HOST: '127.0.0.1',
        DATA_DIR: this.dataDir,
        AUTH_SECRET: SECRET,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'test',
        ...this.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    this.#process = child
    await waitUntilReady(`${this.url}/readyz`, child)
  }

  /** SIGTERM, and wait for the process to exit. */
  async stop(): Promise<void> {
    const child = this.#process
    if (child === null || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    this.#process = null
  }

  async dispose(): Promise<void> {
    await this.stop()
    rmSync(this.dataDir, { recursive: true, force: true })
  }

  /** A signed token, as an issuer would mint one; `expiresIn` as jose takes it (default one hour). */
  token(claims: { role: 'read' | 'write' | 'admin', name?: string, docs?: string[], expiresIn?: string }): Promise<string> {
    return new SignJWT({ name: claims.name ?? claims.role, docs: claims.docs ?? ['*'], role: claims.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.name ?? claims.role)
      .setExpirationTime(claims.expiresIn ?? '1h')
      .sign(new TextEncoder().encode(SECRET))
  }

  /** A call to the HTTP document API (`/api/documents` + `path`) with an admin token, as a backend's. */
  async api(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${await this.token({ role: 'admin' })}`)
    return fetch(`${this.url}/api/documents${path}`, { ...init, headers })
  }

  /**
   * A link to a document that carries a token, as people share them: in the fragment, with a
   * token that names nobody (as a share link's: `sub` `share:…`, no `name`), so whoever opens
   * it shows the name they chose.
   */
  async link(document: string, role: 'read' | 'write' | 'admin'): Promise<string> {
    const token = await new SignJWT({ docs: ['*'], role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`share:${role}`)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET))
    return `${this.url}/d/${encodeURIComponent(document)}#token=${token}`
  }
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`)
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the server did not become ready within 20 s')
}
