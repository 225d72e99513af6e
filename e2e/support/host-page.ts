import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Another site: a plain HTTP server on its own port (so its own origin) serving the HTML
 * pages a test gives it, as a team's web app would embed `<tandem-editor>`.
 */
export class HostSite {
  readonly #pages = new Map<string, string>()
  readonly #server: Server = createServer((request, response) => {
    const page = this.#pages.get(new URL(request.url ?? '/', 'http://host').pathname)
    if (page === undefined) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page)
  })

  /** Serves `html` at `path` (from now on). */
  page(path: string, html: string): string {
    this.#pages.set(path, html)
    return `${this.url}${path}`
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
  }

  async stop(): Promise<void> {
    // The browser keeps its connections alive; they would hold close() open.
    this.#server.closeAllConnections()
    await new Promise<void>((resolve, reject) => {
      this.#server.close((error) => (error ? reject(error) : resolve()))
    })
  }
}
