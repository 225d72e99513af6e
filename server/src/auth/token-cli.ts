import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { roles } from './principal.js'

const usage = `Mints a Tandem token signed with AUTH_SECRET.

  npm run token -- --docs 'team-*' --role read --name Ada --ttl 1h

  --docs   document names or * globs, comma-separated (default: *)
  --role   read | write | admin (default: write)
  --name   display name (default: the user id)
  --sub    user id (default: the name, lowercased)
  --ttl    lifetime: 30m, 1h, 7d … (default: 1h); 'never' for no expiry`

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n`)
  process.exit(1)
}

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '*' },
    role: { type: 'string', default: 'write' },
    name: { type: 'string' },
    sub: { type: 'string' },
    ttl: { type: 'string', default: '1h' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const secret = process.env.AUTH_SECRET
if (!secret) fail('AUTH_SECRET is not set; tokens are signed with the server\'s secret')
if (!(roles as readonly string[]).includes(values.role)) fail(`--role must be one of ${roles.join(', ')}`)
const docs = values.docs.split(',').map((doc) => doc.trim()).filter(Boolean)
if (docs.length === 0) fail('--docs needs at least one document name or glob')
const sub = values.sub ?? values.name?.toLowerCase() ?? 'tandem-user'
const jwt = new SignJWT({ name: values.name ?? sub, docs, role: values.role })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject(sub)
  .setIssuedAt()
if (values.ttl !== 'never') {
  if (!/^\d+\s*(s|m|h|d|w)$/.test(values.ttl)) fail('--ttl must look like 30m, 1h or 7d, or be never')
  jwt.setExpirationTime(values.ttl)
}
process.stdout.write(`${await jwt.sign(new TextEncoder().encode(secret))}\n`)
