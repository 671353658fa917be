import { pageQuery, pagedEnvelope, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok, page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import { type ConnectionsService, CreateCredentialInput, TestConnectionInput, UpdateCredentialInput } from './connections.service.js';
import type { VerifyResult } from './verify.js';

/** The masked shape: its fields are the guarantee that no secret can be serialized. */
export const MaskedCredentialSchema = z.object({
  id: z.string().uuid(),
  service_name: z.string(),
  label: z.string(),
  api_key: z.string().describe('Masked: first 3 and last 4 characters'),
  api_secret: z.literal('***').nullable(),
  config: z.record(z.string(), z.string()).describe('Non-secret configuration'),
  status: z.string(),
  is_active: z.boolean(),
  last_used: z.string().nullable(),
  last_verified: z.string().nullable(),
  last_refreshed: z.string().nullable().describe('When Keyhold last renewed the access token (OAuth)'),
  token_expires_at: z.string().nullable().describe('When the current access token expires (OAuth)'),
  created_at: z.string(),
  updated_at: z.string(),
  webhook_url: z.string().optional().describe("Where the provider should send this connection's webhooks (providers that sign per connection)"),
});
/** A new credential, masked, and whether the provider verified it before it was saved. */
const CreatedCredentialSchema = MaskedCredentialSchema.extend({
  verified: z.boolean().describe('false when saved with ?verify=false or the provider has no verify request'),
  restricted: z.string().optional().describe('Present when the provider accepted the key but limits it to part of its API: what it cannot do'),
});
const RevealedSchema = z.object({
  id: z.string().uuid(),
  service_name: z.string(),
  label: z.string(),
  api_key: z.string(),
  api_secret: z.string().nullable(),
  credentials: z.record(z.string(), z.string()),
  config: z.record(z.string(), z.string()),
  is_active: z.boolean(),
});
// The service's own input schemas, described for the OpenAPI document: one definition each.
const CreateBody = CreateCredentialInput.extend({
  serviceName: CreateCredentialInput.shape.serviceName.describe('Provider id from GET /api/providers'),
  additionalConfig: CreateCredentialInput.shape.additionalConfig.describe('Other credential and config fields, by their catalog names'),
  label: CreateCredentialInput.shape.label.describe("Several accounts at one provider: a label per account (default 'default')"),
});
const UpdateBody = UpdateCredentialInput;
const IdParams = z.object({ id: z.string().uuid() });
const ListQuery = pageQuery().extend({
  serviceName: z.string().max(100).optional(),
  isActive: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export const TestResult = z.object({
  success: z.literal(true),
  message: z.string(),
  data: z.object({
    serviceName: z.string(),
    connectionStatus: z.literal('active'),
    testedAt: z.string(),
    restricted: z.string().optional().describe('Present when the provider accepted the key but limits it to part of its API: what it cannot do'),
  }),
});
export const TestFailure = z.object({
  success: z.literal(false),
  message: z.string(),
  error: z.string(),
  code: z.enum(['CONNECTION_TEST_FAILED', 'INTEGRATION_UNAVAILABLE']),
  data: z.object({ serviceName: z.string(), providerStatus: z.number().nullable(), testedAt: z.string() }),
  requestId: z.string(),
});

/** The documented test-connection answers: 200 on success, 422 rejected, 502 unreachable. */
export function testReply(reply: FastifyReply, requestId: string, t: { serviceName: string; result: VerifyResult; testedAt: string }) {
  if (t.result.ok) {
    const restricted = t.result.restricted;
    return reply.code(200).send({
      success: true as const,
      message: restricted ? `Connection test successful; the key is restricted: ${restricted}` : 'Connection test successful',
      data: { serviceName: t.serviceName, connectionStatus: 'active' as const, testedAt: t.testedAt, ...(restricted ? { restricted } : {}) },
    });
  }
  const unreachable = t.result.reason === 'unreachable';
  return reply.code(unreachable ? 502 : 422).send({
    success: false as const,
    message: unreachable ? `Could not reach ${t.serviceName}; try again later` : 'Invalid API credentials',
    error: 'Connection test failed',
    code: unreachable ? ('INTEGRATION_UNAVAILABLE' as const) : ('CONNECTION_TEST_FAILED' as const),
    data: { serviceName: t.serviceName, providerStatus: t.result.status, testedAt: t.testedAt },
    requestId,
  });
}

export function connectionsRoutes(app: FastifyInstance, { connections }: { connections: ConnectionsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['api-credentials'];

  r.get('/api/api-credentials', {
    schema: { tags, summary: "The organization's credentials, masked (owner, admin)", querystring: ListQuery, response: { 200: pagedEnvelope(MaskedCredentialSchema) } },
  }, async (req) => {
    const { items, pagination } = await connections.list(principalOf(req), req.query);
    return page(items, pagination);
  });

  r.post('/api/api-credentials', {
    schema: {
      tags,
      summary: 'Connect an account by API key; verified with the provider first unless ?verify=false: refused is 422, unreachable 502, nothing saved (owner, admin)',
      querystring: z.object({ verify: z.enum(['true', 'false']).default('true') }),
      body: CreateBody,
      response: { 201: successEnvelope(CreatedCredentialSchema) },
    },
  }, async (req, reply) => reply.code(201).send(ok(await connections.create(principalOf(req), req.body, { verify: req.query.verify === 'true' }), { message: 'API credentials created successfully' })));

  r.post('/api/api-credentials/test-connection', {
    schema: {
      tags,
      summary: "Run the provider's verify request with these credentials, without saving (owner, admin)",
      body: TestConnectionInput,
      response: { 200: TestResult, 422: TestFailure, 502: TestFailure },
    },
  }, async (req, reply) => testReply(reply, req.id, await connections.testConnection(principalOf(req), req.body)));

  r.post('/api/api-credentials/:id/test', {
    schema: { tags, summary: 'Test a saved credential; updates its status and last_verified (owner, admin)', params: IdParams, response: { 200: TestResult, 422: TestFailure, 502: TestFailure } },
  }, async (req, reply) => testReply(reply, req.id, await connections.testSaved(principalOf(req), req.params.id)));

  r.get('/api/connections/:provider/credentials', {
    schema: {
      tags: ['connections'],
      summary: "Plaintext credentials of one connection, for business code (API key with 'credentials:read')",
      params: z.object({ provider: z.string().max(100) }),
      querystring: z.object({
        label: z.string().max(63).default('default'),
        include: z.literal('refreshToken').optional().describe("Also the OAuth refresh token (platform keys with 'credentials:read:refresh'; audited). Left out by default: Keyhold refreshes"),
      }),
      response: {
        200: successEnvelope(z.object({
          id: z.string().uuid(),
          provider: z.string(),
          label: z.string(),
          credentials: z.record(z.string(), z.string()),
          config: z.record(z.string(), z.string()),
          credentialVersion: z.number().int().describe('Changes whenever the secret rotates; cache clients per version'),
          status: z.string(),
          expiresAt: z.string().nullable().describe('When the OAuth access token expires (never less than the refresh margin away); null when it does not expire'),
          baseUrl: z.string().nullable().describe("The provider API's base URL as this server is configured (the catalog's, or an override such as the demo's sandbox); official clients built from this read point there"),
        })),
      },
    },
  }, async (req) => ok(await connections.readForMachine(principalOf(req), req.params.provider, req.query.label, { includeRefreshToken: req.query.include === 'refreshToken' })));

  r.get('/api/api-credentials/:id', {
    schema: { tags, summary: 'One credential, masked (owner, admin)', params: IdParams, response: { 200: successEnvelope(MaskedCredentialSchema) } },
  }, async (req) => ok(await connections.get(principalOf(req), req.params.id)));

  r.get('/api/api-credentials/:id/reveal', {
    schema: {
      tags,
      summary: 'The plaintext credential (owner only, with X-MFA-Code); audited',
      params: IdParams,
      response: { 200: successEnvelope(RevealedSchema).extend({ warning: z.string() }) },
    },
  }, async (req) => ({ ...ok(await connections.reveal(principalOf(req), req.params.id)), warning: 'These are sensitive credentials. Handle with care.' }));

  r.put('/api/api-credentials/:id', {
    schema: {
      tags,
      summary: 'Update; changing a secret, or where or how it is sent (base URL, store domain, header, verify path…), needs X-MFA-Code; a new secret is verified first unless ?verify=false (owner, admin)',
      params: IdParams,
      querystring: z.object({ verify: z.enum(['true', 'false']).default('true') }),
      body: UpdateBody,
      response: { 200: successEnvelope(MaskedCredentialSchema) },
    },
  }, async (req) => {
    const code = req.headers['x-mfa-code'];
    return ok(await connections.update(principalOf(req), req.params.id, req.body, { verify: req.query.verify === 'true', ...(typeof code === 'string' ? { mfaCode: code } : {}) }));
  });

  r.delete('/api/api-credentials/:id', {
    schema: { tags, summary: 'Delete a credential (owner only, with X-MFA-Code); audited', params: IdParams, response: { 200: successEnvelope(z.object({ deleted: z.literal(true) })) } },
  }, async (req) => {
    await connections.remove(principalOf(req), req.params.id);
    return ok({ deleted: true as const });
  });
}
