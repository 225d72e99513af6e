import type { MiddlewareHandler } from 'hono'

export interface SecurityHeadersOptions {
  /** Origins allowed to frame the pages (FRAME_ANCESTORS); empty forbids framing. */
  readonly frameAncestors: readonly string[]
}

// A Host header as Node accepts it; anything else is left out of the policy rather than echoed.
const HOST = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i

/**
 * Headers that keep the pages, their assets and the API from leaking or being abused:
 * a Content-Security-Policy the built editor works under (module scripts and stylesheets from
 * this origin only, no inline code), no MIME sniffing, no Referer (a page's address must never
 * travel to anyone), and framing only by FRAME_ANCESTORS.
 */
export function securityHeaders({ frameAncestors }: SecurityHeadersOptions): MiddlewareHandler {
  const ancestors = frameAncestors.length === 0 ? `'none'` : frameAncestors.join(' ')
  return async (c, next) => {
    await next()
    const host = c.req.header('host')
    c.header('Content-Security-Policy', contentSecurityPolicy(ancestors, host !== undefined && HOST.test(host) ? host : null))
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
    // For browsers that predate frame-ancestors; it cannot express a list of origins.
    if (frameAncestors.length === 0) c.header('X-Frame-Options', 'DENY')
  }
}

function contentSecurityPolicy(ancestors: string, host: string | null): string {
  // 'self' covers same-host WebSockets in CSP 3; older engines need ws:/wss: named.
  const sockets = host === null ? '' : ` ws://${host} wss://${host}`
  return [
    `default-src 'self'`,
    `script-src 'self'`,
    `style-src 'self'`,
    // The favicon is a data: URL.
    `img-src 'self' data:`,
    `font-src 'self'`,
    `connect-src 'self'${sockets}`,
    `object-src 'none'`,
    `base-uri 'none'`,
    `form-action 'self'`,
    `frame-ancestors ${ancestors}`,
  ].join('; ')
}
