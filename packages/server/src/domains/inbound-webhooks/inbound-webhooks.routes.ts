import { INBOUND_EVENT_STATUSES, InboundEventSchema, successEnvelope, pageQuery, pagedEnvelope } from '@keyhold/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok, page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { WebhookReply } from '../../providers/adapter.js';
import type { InboundWebhooksService } from './inbound-webhooks.service.js';

/** Providers sign the exact bytes they sent, so these routes never parse a body; 1 MiB at most. */
export const WEBHOOK_BODY_LIMIT = 1_048_576;

const ProviderId = z.string().regex(/^[a-z][a-z0-9-]{1,40}$/);
const ProviderParams = z.object({ provider: ProviderId });
const TokenParams = z.object({ provider: ProviderId, endpointToken: z.string().regex(/^[A-Za-z0-9_-]{32,64}$/) });

export { InboundEventSchema };

export const InboundQuery = pageQuery(50).extend({
  provider: ProviderId.optional(),
  topic: z.string().max(200).optional(),
  status: z.enum(INBOUND_EVENT_STATUSES).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Only events received at or after this time (ISO 8601)'),
});

/** Stored before this answer, which has no body (a provider may accept no other); handshakes answer what the provider asks for (`hub.challenge`, a challenge echo) instead. */
const Stored = { 200: z.string().describe("Empty once stored; or the provider's handshake answer") };

const send = (reply: FastifyReply, r: WebhookReply) => {
  reply.code(r.status);
  if (r.contentType) reply.header('content-type', r.contentType);
  return reply.send(r.body ?? '');
};

const delivery = (req: FastifyRequest, provider: string, endpointToken?: string) => ({
  provider,
  ...(endpointToken === undefined ? {} : { endpointToken }),
  method: req.method === 'POST' ? ('POST' as const) : ('GET' as const),
  raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
  headers: req.headers,
  query: Object.fromEntries(Object.entries((req.query ?? {}) as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string')),
});

/** Where providers deliver: public (the signature is the credential), raw bodies only. */
export async function inboundWebhookReceiverRoutes(app: FastifyInstance, { inbound }: { inbound: InboundWebhooksService }) {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    const r = scope.withTypeProvider<ZodTypeProvider>();
    const tags = ['webhooks'];
    r.post('/api/webhooks/:provider', {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      schema: { tags, summary: 'App-level provider webhooks (one URL per provider); verified on the raw body, stored, then acknowledged', params: ProviderParams, response: Stored },
    }, async (req, reply) => send(reply, await inbound.receive(delivery(req, req.params.provider))));
    r.get('/api/webhooks/:provider', {
      schema: { tags, summary: "A provider's subscription handshake (e.g. hub.challenge)", params: ProviderParams, querystring: z.record(z.string(), z.string()), response: { 200: z.string().describe('The challenge, as the provider expects it') } },
    }, async (req, reply) => send(reply, await inbound.receive(delivery(req, req.params.provider))));
    r.post('/api/webhooks/:provider/:endpointToken', {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      schema: { tags, summary: "Per-connection provider webhooks (the URL shown on the connection); signed with the connection's secret", params: TokenParams, response: Stored },
    }, async (req, reply) => send(reply, await inbound.receive(delivery(req, req.params.provider, req.params.endpointToken))));
  });
}

/** What tenants see of their own inbound events. */
export function inboundWebhookRoutes(app: FastifyInstance, { inbound }: { inbound: InboundWebhooksService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['webhooks'];
  r.get('/api/webhooks/inbound', {
    schema: { tags, summary: "The organization's inbound provider webhooks, newest first (owner, admin; API keys need 'events:read')", querystring: InboundQuery, response: { 200: pagedEnvelope(InboundEventSchema) } },
  }, async (req) => {
    const { since, ...rest } = req.query;
    const { items, pagination } = await inbound.list(principalOf(req), { ...rest, ...(since ? { since: new Date(since) } : {}) });
    return page(items, pagination);
  });
  r.post('/api/webhooks/inbound/:id/replay', {
    schema: { tags, summary: "Processes an inbound event again (owner, admin; API keys need 'credentials:write')", params: z.object({ id: z.string().uuid() }), response: { 200: successEnvelope(InboundEventSchema) } },
  }, async (req) => ok(await inbound.replay(principalOf(req), req.params.id)));
}

const QuarantinedSchema = z.object({ id: z.string().uuid(), provider: z.string(), routingKey: z.string(), topic: z.string(), externalId: z.string(), receivedAt: z.string() });

/** The platform quarantine: events for accounts no organization has connected (platform admins). */
export function quarantineRoutes(app: FastifyInstance, { inbound }: { inbound: InboundWebhooksService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin'];
  r.get('/api/admin/webhooks/quarantine', {
    schema: { tags, summary: 'Inbound webhooks for accounts no organization holds, newest first (ids and names only)', querystring: pageQuery(50), response: { 200: pagedEnvelope(QuarantinedSchema) } },
  }, async (req) => {
    const { items, pagination } = await inbound.quarantine(req.query);
    return page(items, pagination);
  });
  r.post('/api/admin/webhooks/quarantine/:id/replay', {
    schema: { tags, summary: 'Delivers a quarantined event to the organization whose connection now holds its account (409 while none does)', params: z.object({ id: z.string().uuid() }), response: { 200: successEnvelope(z.object({ id: z.string().uuid(), delivered: z.boolean() })) } },
  }, async (req) => ok(await inbound.replayQuarantined(req.params.id)));
}
