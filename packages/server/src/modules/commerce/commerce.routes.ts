import { CommerceSettingsSchema, CommerceSummarySchema, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ok } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { CommerceService } from './commerce.service.js';

export function commerceRoutes(app: FastifyInstance, { commerce }: { commerce: CommerceService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/commerce/summary', {
    schema: {
      tags: ['commerce'],
      summary: "Sales of the last 7 and 30 days per Shopify store and the items under the low-stock threshold, from synced records (member+; API keys need 'records:read')",
      response: { 200: successEnvelope(CommerceSummarySchema) },
    },
  }, async (req) => ok(await commerce.summary(principalOf(req))));

  r.get('/api/commerce/settings', {
    schema: { tags: ['commerce'], summary: "The tenant's commerce settings (member+; API keys need 'records:read')", response: { 200: successEnvelope(CommerceSettingsSchema) } },
  }, async (req) => ok(await commerce.settings(principalOf(req))));

  r.put('/api/commerce/settings', {
    schema: {
      tags: ['commerce'], summary: "Saves the tenant's commerce settings (admin+; people only)",
      body: CommerceSettingsSchema, response: { 200: successEnvelope(CommerceSettingsSchema) },
    },
  }, async (req) => ok(await commerce.saveSettings(principalOf(req), req.body)));
}
