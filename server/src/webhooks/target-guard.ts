import { lookup as dnsLookup } from 'node:dns'
import type { LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'

/** Whether endpoints on this machine or its private networks may be called (self-hosting, tests). */
export interface TargetOptions {
  readonly allowPrivate: boolean
}

/** A webhook URL, or the address its host resolved to, that Tandem will not call. */
export class WebhookTargetError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WebhookTargetError'
  }
}

/**
 * The range that makes an address refused, in words, or null if it may be called. Only what
 * ipaddr.js classes as plain `unicast` passes: besides loopback, private, unique-local,
 * link-local, CGNAT, unspecified, multicast and broadcast, that also refuses reserved,
 * documentation and translation ranges, none of which holds a public endpoint. An
 * IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
 */
function refusedRange(address: string): string | null {
  const range = ipaddr.process(address).range()
  return range === 'unicast' ? null : range.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`)
}

/** `localhost` and its subdomains resolve to this machine by convention (RFC 6761), whatever DNS says. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '')
  return name === 'localhost' || name.endsWith('.localhost')
}

/**
 * Parses a webhook URL and refuses what must not be called: another scheme than http(s),
 * credentials in the URL (secrets belong in the signing secret, not in logged URLs), and
 * unless `allowPrivate`, a host that names this machine or a private network directly.
 * A DNS name is only checked when it is resolved, by {@link guardedLookup}.
 */
export function checkWebhookUrl(url: string, options: TargetOptions): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new WebhookTargetError('not a valid URL')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WebhookTargetError(`${parsed.protocol} URLs are not allowed, only http: and https:`)
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new WebhookTargetError('URLs with credentials are not allowed')
  }
  if (options.allowPrivate) return parsed
  if (isLocalhostName(parsed.hostname)) {
    throw new WebhookTargetError(`${parsed.hostname} is this machine`)
  }
  // WHATWG URL has already turned every IPv4 spelling (0x7f.1, 2130706433) into dotted form.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  const range = ipaddr.isValid(host) ? refusedRange(host) : null
  if (range !== null) throw new WebhookTargetError(`${host} is in the ${range} range`)
  return parsed
}

/**
 * A `lookup` for `http.request` and `net.connect` that resolves with `dns.lookup` and fails
 * with {@link WebhookTargetError} if any address of the name is refused. Checking at connect
 * time, on the addresses actually used, stops a name that resolved to a public address at
 * registration and to a private one later (DNS rebinding). Node skips `lookup` for IP
 * literals, so callers check the URL with {@link checkWebhookUrl} too.
 */
export function guardedLookup(options: TargetOptions): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', undefined)
      if (!options.allowPrivate) {
        for (const { address } of addresses) {
          const range = refusedRange(address)
          if (range === null) continue
          return callback(new WebhookTargetError(`${hostname} resolves to ${address}, in the ${range} range`), '', undefined)
        }
      }
      if (lookupOptions.all) return callback(null, addresses)
      const [first] = addresses
      if (first === undefined) return callback(new WebhookTargetError(`${hostname} has no address`), '', undefined)
      callback(null, first.address, first.family)
    })
  }
}
