import { ApiKeySchema, CreatedApiKeySchema, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import { type ApiKeysService, CreateApiKeyInput, CreatePlatformApiKeyInput } from './api-keys.service.js';
export { ApiKeySchema, CreatePlatformApiKeyInput, CreatedApiKeySchema };

/** The service's own input schema: one definition for the route, the OpenAPI document and the service. */
export const CreateApiKeyBody = CreateApiKeyInput.extend({
  role: CreateApiKeyInput.shape.role.describe('The role the key acts with (at most your own)'),
});

export function apiKeysRoutes(app: FastifyInstance, { apiKeys }: { apiKeys: ApiKeysService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['api-keys'];

  r.post('/api/api-keys', {
    schema: { tags, summary: "Create an API key (owner, admin); shown once. A key with 'credentials:read' needs the owner and X-MFA-Code", body: CreateApiKeyBody, response: { 201: successEnvelope(CreatedApiKeySchema) } },
  }, async (req, reply) => {
    const code = req.headers['x-mfa-code'];
    return reply.code(201).send(ok(await apiKeys.create(principalOf(req), req.body, typeof code === 'string' ? { mfaCode: code } : {})));
  });

  r.get('/api/api-keys', {
    schema: { tags, summary: 'API keys of the organization (prefix, name, scopes, last use)', response: { 200: successEnvelope(z.array(ApiKeySchema)) } },
  }, async (req) => ok(await apiKeys.list(principalOf(req))));

  r.delete('/api/api-keys/:id', {
    schema: { tags, summary: 'Revoke an API key', params: z.object({ id: z.string().uuid() }), response: { 200: successEnvelope(z.object({ revoked: z.literal(true) })) } },
  }, async (req) => {
    await apiKeys.revoke(principalOf(req), req.params.id);
    return ok({ revoked: true as const });
  });
}
