import {
  WEBHOOK_DELIVERY_STATUSES, WebhookDeliverySchema, WebhookDeliveryWithAttemptsSchema, WebhookEndpointSchema, WebhookEndpointWithSecretSchema, WebhookSecretSchema,
  pageQuery, pagedEnvelope, successEnvelope,
} from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok, page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import { ChangeUrlInput, CreateEndpointInput, UpdateEndpointInput, type WebhookEndpointsService } from './webhook-endpoints.service.js';

const EndpointSchema = WebhookEndpointSchema;
const WithSecret = WebhookEndpointWithSecretSchema;
const SecretField = WebhookSecretSchema;
const DeliverySchema = WebhookDeliverySchema;
const IdParams = z.object({ id: z.string().uuid() });
const tags = ['webhook-endpoints'];

export function webhookEndpointsRoutes(app: FastifyInstance, { endpoints }: { endpoints: WebhookEndpointsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/webhook-endpoints', {
    schema: { tags, summary: "The organization's webhook endpoints (owner, admin; API keys need 'webhooks:read')", response: { 200: successEnvelope(z.array(EndpointSchema)) } },
  }, async (req) => ok(await endpoints.list(principalOf(req))));

  r.post('/api/webhook-endpoints', {
    schema: {
      tags,
      summary: 'Add an endpoint that receives signed events (Standard Webhooks); its secret is shown once (owner, admin, with X-MFA-Code)',
      body: CreateEndpointInput,
      response: { 201: successEnvelope(WithSecret) },
    },
  }, async (req, reply) => reply.code(201).send(ok(await endpoints.create(principalOf(req), req.body))));

  r.get('/api/webhook-endpoints/:id', {
    schema: { tags, summary: 'One webhook endpoint (owner, admin)', params: IdParams, response: { 200: successEnvelope(EndpointSchema) } },
  }, async (req) => ok(await endpoints.get(principalOf(req), req.params.id)));

  r.patch('/api/webhook-endpoints/:id', {
    schema: { tags, summary: 'Change the description, event types or enabled (owner, admin); the URL has its own route', params: IdParams, body: UpdateEndpointInput, response: { 200: successEnvelope(EndpointSchema) } },
  }, async (req) => ok(await endpoints.update(principalOf(req), req.params.id, req.body)));

  r.put('/api/webhook-endpoints/:id/url', {
    schema: { tags, summary: 'Move the endpoint to another URL (owner, admin, with X-MFA-Code, like creating one); audited', params: IdParams, body: ChangeUrlInput, response: { 200: successEnvelope(EndpointSchema) } },
  }, async (req) => ok(await endpoints.changeUrl(principalOf(req), req.params.id, req.body)));

  r.delete('/api/webhook-endpoints/:id', {
    schema: { tags, summary: 'Delete an endpoint and its delivery log (owner, admin, with X-MFA-Code)', params: IdParams, response: { 200: successEnvelope(z.object({ deleted: z.literal(true) })) } },
  }, async (req) => {
    await endpoints.remove(principalOf(req), req.params.id);
    return ok({ deleted: true as const });
  });

  r.get('/api/webhook-endpoints/:id/secret', {
    schema: { tags, summary: "The endpoint's signing secret (owner, admin, with X-MFA-Code); audited", params: IdParams, response: { 200: successEnvelope(z.object({ secret: SecretField.optional(), publicKey: z.string().optional() })) } },
  }, async (req) => ok(await endpoints.reveal(principalOf(req), req.params.id)));

  r.post('/api/webhook-endpoints/:id/rotate-secret', {
    schema: {
      tags,
      summary: 'A new signing secret, shown once; the replaced one keeps signing alongside it for 24 h (owner, admin, with X-MFA-Code)',
      params: IdParams,
      response: { 200: successEnvelope(WithSecret) },
    },
  }, async (req) => ok(await endpoints.rotate(principalOf(req), req.params.id)));

  r.get('/api/webhook-endpoints/:id/deliveries', {
    schema: {
      tags,
      summary: "Deliveries to this endpoint, newest first, with every attempt (owner, admin; API keys need 'webhooks:read')",
      params: IdParams,
      querystring: pageQuery(50).extend({ status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional() }),
      response: { 200: pagedEnvelope(WebhookDeliveryWithAttemptsSchema) },
    },
  }, async (req) => {
    const { items, pagination } = await endpoints.deliveries(principalOf(req), req.params.id, req.query);
    return page(items, pagination);
  });

  r.post('/api/webhook-endpoints/:id/deliveries/:deliveryId/retry', {
    schema: {
      tags,
      summary: 'Send a finished delivery again now, same webhook-id (owner, admin)',
      params: z.object({ id: z.string().uuid(), deliveryId: z.string().uuid() }),
      response: { 200: successEnvelope(DeliverySchema) },
    },
  }, async (req) => ok(await endpoints.retry(principalOf(req), req.params.id, req.params.deliveryId)));

  r.post('/api/webhook-endpoints/:id/recover', {
    schema: {
      tags,
      summary: 'Send again every delivery to this endpoint that failed since a time (owner, admin)',
      params: IdParams,
      body: z.strictObject({ since: z.iso.datetime({ offset: true }).describe('ISO 8601; within the payload retention (30 days)') }),
      response: { 200: successEnvelope(z.object({ requeued: z.number().int() })) },
    },
  }, async (req) => ok(await endpoints.recover(principalOf(req), req.params.id, new Date(req.body.since))));

  r.post('/api/webhook-endpoints/:id/test', {
    schema: { tags, summary: 'Send a signed test.ping to the endpoint (owner, admin)', params: IdParams, response: { 202: successEnvelope(DeliverySchema) } },
  }, async (req, reply) => reply.code(202).send(ok(await endpoints.test(principalOf(req), req.params.id))));
}
