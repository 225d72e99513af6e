import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A JSON endpoint of the host site: the request and its body in, a status and JSON out. */
export type HostHandler = (
  request: IncomingMessage,
  body: string,
) => Promise<{ status: number, json: unknown }>

/**
 * Another site: a plain HTTP server on its own port (so its own origin) serving the HTML
 * pages and JSON endpoints a test gives it, as a team's web app that embeds `<tandem-editor>`.
 */
export class HostSite {
  readonly #pages = new Map<string, string>()
  readonly #handlers = new Map<string, HostHandler>()
  readonly #server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://host').pathname
    const page = this.#pages.get(path)
    const handler = this.#handlers.get(path)
    if (page !== undefined) {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page)
      return
    }
    if (handler === undefined) {
      response.writeHead(404).end()
      return
    }
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      handler(request, Buffer.concat(chunks).toString('utf8')).then(
        ({ status, json }) => response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(json)),
        (error: unknown) => response.writeHead(500).end(String(error)),
      )
    })
  })

  /** Serves `html` at `path` (from now on); returns its URL. */
  page(path: string, html: string): string {
    this.#pages.set(path, html)
    return `${this.url}${path}`
  }

  /** Answers requests to `path` with `handler`. */
  handle(path: string, handler: HostHandler): void {
    this.#handlers.set(path, handler)
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
