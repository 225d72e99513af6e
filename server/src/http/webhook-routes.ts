import type { DeliveryInfo, WebhookEndpoint } from '@tandem/persistence/outbox'
import { outboxEventTypes } from '@tandem/persistence/outbox'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import type { Authenticator } from '../auth/authenticator.js'
import { coversAll } from '../auth/authorize.js'
import { WebhookTargetError } from '../webhooks/target-guard.js'
import type { Webhooks } from '../webhooks/webhooks.js'
import { ApiError } from './api-error.js'
import { type AuthEnv, bearerAuth } from './bearer-auth.js'

export interface WebhookRoutesOptions {
  readonly authenticator: Authenticator
  readonly webhooks: Webhooks
}

const newEndpoint = z.object({
  url: z.string({ error: 'url is required: where to POST the events' }).max(2048, 'url is longer than 2048 characters'),
  events: z
    .array(z.enum(outboxEventTypes, { error: `events must be among ${outboxEventTypes.join(', ')}` }))
    .min(1, 'events must name at least one event type')
    .default([...outboxEventTypes]),
  documents: z.string().min(1).max(512).nullable().default(null),
  format: z.enum(['json', 'html', 'markdown', 'text'], { error: 'format must be json, html, markdown or text' }).nullable().default(null),
}).strict()

const endpointChange = z.object({ enabled: z.boolean({ error: 'enabled must be true or false' }) }).strict()

const DELIVERIES_PAGE = 50

/**
 * `/api/webhooks`: endpoints that get signed events when documents change, managed with an
 * admin token for `*` (anyone in open mode, where everyone administers everything).
 */
export function webhookRoutes({ authenticator, webhooks }: WebhookRoutesOptions): Hono<AuthEnv> {
  const routes = new Hono<AuthEnv>()
  routes.use('*', bearerAuth(authenticator))
  routes.use('*', async (c, next) => {
    const principal = c.get('principal')
    if (authenticator.required && (principal.role !== 'admin' || !coversAll(principal))) {
      throw new ApiError(403, 'forbidden', 'webhooks need an admin token for "*"')
    }
    await next()
  })
  routes.use('*', bodyLimit({
    maxSize: 8192,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', 'the body is larger than 8192 bytes')
    },
  }))

  routes.post('/', async (c) => {
    const body = newEndpoint.safeParse(await readJson(c.req.raw))
    if (!body.success) throw new ApiError(400, 'invalid_webhook', body.error.issues[0]!.message)
    try {
      return c.json(endpointJson(await webhooks.create(body.data)), 201)
    } catch (error) {
      if (error instanceof WebhookTargetError) throw new ApiError(422, 'refused_target', error.message)
      throw error
    }
  })

  routes.get('/', async (c) => c.json({ webhooks: (await webhooks.list()).map(endpointJson) }))

  routes.get('/:id', async (c) => {
    const endpoint = (await webhooks.list()).find((candidate) => candidate.id === c.req.param('id'))
    return c.json(endpointJson(endpoint ?? notFound(c.req.param('id'))))
  })

  routes.patch('/:id', async (c) => {
    const body = endpointChange.safeParse(await readJson(c.req.raw))
    if (!body.success) throw new ApiError(400, 'invalid_webhook', body.error.issues[0]!.message)
    const endpoint = await webhooks.setEnabled(c.req.param('id'), body.data.enabled)
    return c.json(endpointJson(endpoint ?? notFound(c.req.param('id'))))
  })

  routes.delete('/:id', async (c) => {
    if (!(await webhooks.remove(c.req.param('id')))) notFound(c.req.param('id'))
    return c.body(null, 204)
  })

  routes.post('/:id/test', async (c) => {
    const result = await webhooks.test(c.req.param('id')) ?? notFound(c.req.param('id'))
    const { ok, status, error, durationMs } = result
    return c.json({ ok, status, error, durationMs: Math.round(durationMs) })
  })

  routes.get('/:id/deliveries', async (c) => {
    const deliveries = await webhooks.deliveries(c.req.param('id'), DELIVERIES_PAGE) ?? notFound(c.req.param('id'))
    return c.json({ deliveries: deliveries.map(deliveryJson) })
  })

  routes.post('/:id/deliveries/:delivery/retry', async (c) => {
    const { id, delivery } = c.req.param()
    if (!(await webhooks.retry(id, delivery))) throw new ApiError(404, 'not_found', `no delivery ${delivery} of webhook ${id}`)
    return c.json({ id: delivery, status: 'pending' }, 202)
  })

  return routes
}

function notFound(id: string): never {
  throw new ApiError(404, 'not_found', `no webhook ${id}`)
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return JSON.parse(await request.text())
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body must be JSON')
  }
}

/** An endpoint as the API shows it: its secret only when it has one (just created). */
function endpointJson(endpoint: Omit<WebhookEndpoint, 'secret'> & { secret?: string }) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    documents: endpoint.documents,
    format: endpoint.format,
    enabled: endpoint.disabledAt === null,
    createdAt: endpoint.createdAt.toISOString(),
    disabledAt: endpoint.disabledAt?.toISOString() ?? null,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    ...(endpoint.secret === undefined ? {} : { secret: endpoint.secret }),
  }
}

function deliveryJson(delivery: DeliveryInfo) {
  return {
    id: delivery.id,
    event: {
      id: delivery.event.id,
      type: delivery.event.type,
      document: delivery.event.document,
      at: delivery.event.at.toISOString(),
    },
    status: delivery.status,
    attempts: delivery.attempts,
    lastAttemptAt: delivery.lastAttemptAt?.toISOString() ?? null,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.nextAttemptAt?.toISOString() ?? null,
    createdAt: delivery.createdAt.toISOString(),
  }
}
