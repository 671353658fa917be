import type {} from '@fastify/cookie';
import {
  LoginBody, MfaCodeBody, MfaSetupSchema, MfaVerifyBody, RefreshBody, TenantStatusSchema,
  TokenPairSchema, pageQuery, pagedEnvelope, successEnvelope,
} from '@keyhold/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REFRESH_TTL_MS } from '../sessions/sessions.service.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TENANT_PLANS } from '../../platform/db/schema.js';
import { ok, page } from '../../platform/http/envelope.js';
import { adminOf, requestMeta } from '../../platform/http/principals.js';
import { ApiKeySchema, CreatePlatformApiKeyInput, CreatedApiKeySchema } from '../api-keys/api-keys.routes.js';
import type { ApiKeysService } from '../api-keys/api-keys.service.js';
import type { SignupInvitations } from '../identity/signup-invitations.js';
import type { TenantsService } from '../tenants/tenants.service.js';
import type { AdminAuthService } from './admin-auth.service.js';

const AdminSchema = z.object({ id: z.string().uuid(), email: z.string(), role: z.string(), mfaEnabled: z.boolean(), lastLoginAt: z.string().nullable() });
const AdminSignedIn = TokenPairSchema.extend({ admin: AdminSchema });
const AdminLoginResponse = z.union([AdminSignedIn, z.object({ mfaRequired: z.literal(true), mfaToken: z.string() })]);
const AdminLoginBody = LoginBody.omit({ tenant: true });
const TenantSchema = z.object({
  id: z.string().uuid(),
  slug: z.string(),
  name: z.string(),
  plan: z.enum(TENANT_PLANS),
  status: TenantStatusSchema,
  trialEndsAt: z.string().nullable(),
  maxUsers: z.number().int(),
  maxConnections: z.number().int(),
  features: z.record(z.string(), z.unknown()),
  idpOrgId: z.string().nullable().describe("The identity provider's id for this organisation (KEYHOLD_IDP_ORG_MATCH=external_id)"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const IdParams = z.object({ id: z.string().uuid() });
const TenantCreateBody = z.object({
  slug: z.string().max(63),
  name: z.string().min(1).max(200),
  plan: z.enum(TENANT_PLANS).optional(),
  status: z.enum(['active', 'trial']).optional(),
  maxUsers: z.number().int().min(1).optional(),
  maxConnections: z.number().int().min(1).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  idpOrgId: z.string().min(1).max(255).nullable().optional().describe("The identity provider's id for this organisation, e.g. Clerk's org_… id"),
});
const TenantPatchBody = TenantCreateBody.omit({ slug: true, status: true }).partial().extend({ trialEndsAt: z.string().datetime().nullable().optional() });

const SignupInvitationBody = z.object({
  email: z.string().email().max(254).optional().describe('Only this address may use the invitation'),
  expiresInDays: z.number().int().min(1).max(30).optional().describe('Default 7'),
});
const SignupInvitationSchema = z.object({
  id: z.string().uuid(),
  token: z.string().describe('Shown once: the invitation to pass as `invitation` to POST /api/auth/signup'),
  email: z.string().nullable(),
  expiresAt: z.string(),
});

/** The platform console's refresh token, out of scripts' reach (as the tenant console's). */
export const ADMIN_REFRESH_COOKIE = 'keyhold_admin_refresh';
const ADMIN_COOKIE_PATH = '/api/admin/auth';

function setAdminRefreshCookie(req: FastifyRequest, reply: FastifyReply, token: string) {
  reply.setCookie(ADMIN_REFRESH_COOKIE, token, {
    httpOnly: true, secure: req.protocol === 'https', sameSite: 'strict', path: ADMIN_COOKIE_PATH, maxAge: Math.floor(REFRESH_TTL_MS / 1000),
  });
}

export type AdminRoutesDeps = { adminAuth: AdminAuthService; tenants: TenantsService; apiKeys: ApiKeysService; signupInvitations: Pick<SignupInvitations, 'issue'> };

export function adminRoutes(app: FastifyInstance, { adminAuth, tenants, apiKeys, signupInvitations }: AdminRoutesDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const authTags = ['admin-auth'];
  const tags = ['admin'];

  r.post('/api/admin/auth/login', { schema: { tags: authTags, body: AdminLoginBody, response: { 200: successEnvelope(AdminLoginResponse) } } },
    async (req, reply) => {
      const result = await adminAuth.login(requestMeta(req), req.body);
      if ('refreshToken' in result) setAdminRefreshCookie(req, reply, result.refreshToken);
      return ok(result);
    });
  r.post('/api/admin/auth/mfa/verify', { schema: { tags: authTags, body: MfaVerifyBody, response: { 200: successEnvelope(AdminSignedIn) } } },
    async (req, reply) => {
      const result = await adminAuth.completeMfaLogin(requestMeta(req), req.body);
      setAdminRefreshCookie(req, reply, result.refreshToken);
      return ok(result);
    });
  r.post('/api/admin/auth/refresh', { schema: { tags: authTags, summary: 'Exchange a refresh token (body or cookie) for a new pair; the old one dies', body: RefreshBody, response: { 200: successEnvelope(TokenPairSchema) } } },
    async (req, reply) => {
      const result = await adminAuth.refresh(requestMeta(req), req.body?.refreshToken ?? req.cookies[ADMIN_REFRESH_COOKIE]);
      setAdminRefreshCookie(req, reply, result.refreshToken);
      return ok(result);
    });
  r.post('/api/admin/auth/logout', { schema: { tags: authTags, response: { 200: successEnvelope(z.object({ loggedOut: z.literal(true) })) } } },
    async (req, reply) => {
      await adminAuth.logout(adminOf(req));
      reply.clearCookie(ADMIN_REFRESH_COOKIE, { path: ADMIN_COOKIE_PATH });
      return ok({ loggedOut: true as const });
    });
  r.get('/api/admin/auth/me', { schema: { tags: authTags, response: { 200: successEnvelope(AdminSchema) } } },
    async (req) => ok(await adminAuth.me(adminOf(req))));
  r.post('/api/admin/auth/mfa/setup', { schema: { tags: authTags, response: { 200: successEnvelope(MfaSetupSchema) } } },
    async (req) => ok(await adminAuth.mfaSetup(adminOf(req))));
  r.post('/api/admin/auth/mfa/enable', { schema: { tags: authTags, body: MfaCodeBody, response: { 200: successEnvelope(z.object({ mfaEnabled: z.literal(true) })) } } },
    async (req) => ok(await adminAuth.mfaEnable(adminOf(req), req.body.code)));

  r.get('/api/admin/tenants', {
    schema: {
      tags,
      summary: 'Search tenants',
      querystring: pageQuery().extend({
        status: TenantStatusSchema.optional(),
        plan: z.enum(TENANT_PLANS).optional(),
        search: z.string().max(100).optional(),
      }),
      response: { 200: pagedEnvelope(TenantSchema) },
    },
  }, async (req) => {
    const { items, pagination } = await tenants.search(req.query);
    return page(items, pagination);
  });
  r.post('/api/admin/tenants', { schema: { tags, body: TenantCreateBody, response: { 201: successEnvelope(TenantSchema) } } },
    async (req, reply) => reply.code(201).send(ok(await tenants.create(adminOf(req), req.body))));
  r.get('/api/admin/tenants/:id', { schema: { tags, params: IdParams, response: { 200: successEnvelope(TenantSchema) } } },
    async (req) => ok(await tenants.get(req.params.id)));
  r.patch('/api/admin/tenants/:id', { schema: { tags, params: IdParams, body: TenantPatchBody, response: { 200: successEnvelope(TenantSchema) } } },
    async (req) => ok(await tenants.update(adminOf(req), req.params.id, req.body)));
  r.post('/api/admin/tenants/:id/suspend', {
    schema: { tags, summary: 'Suspend: every session and key of the tenant stops working at once', params: IdParams, body: z.object({ reason: z.string().min(1).max(500) }), response: { 200: successEnvelope(TenantSchema) } },
  }, async (req) => ok(await tenants.setStatus(adminOf(req), req.params.id, 'suspended', req.body.reason)));
  r.post('/api/admin/tenants/:id/reactivate', { schema: { tags, params: IdParams, response: { 200: successEnvelope(TenantSchema) } } },
    async (req) => ok(await tenants.setStatus(adminOf(req), req.params.id, 'active')));
  r.delete('/api/admin/tenants/:id', { schema: { tags, summary: 'Soft-delete (cancel) a tenant', params: IdParams, response: { 200: successEnvelope(TenantSchema) } } },
    async (req) => ok(await tenants.setStatus(adminOf(req), req.params.id, 'cancelled')));

  r.post('/api/admin/signup-invitations', {
    schema: { tags, summary: 'Invite someone to create an organization (sign-up by invitation); the token is shown once', body: SignupInvitationBody, response: { 201: successEnvelope(SignupInvitationSchema) } },
  }, async (req, reply) => reply.code(201).send(ok(await signupInvitations.issue(adminOf(req), req.body))));

  r.post('/api/admin/api-keys', {
    schema: { tags, summary: 'Create a platform API key (acts for the tenant named in X-Keyhold-Tenant); shown once', body: CreatePlatformApiKeyInput, response: { 201: successEnvelope(CreatedApiKeySchema) } },
  }, async (req, reply) => reply.code(201).send(ok(await apiKeys.createPlatformKey(adminOf(req), req.body))));
  r.get('/api/admin/api-keys', { schema: { tags, response: { 200: successEnvelope(z.array(ApiKeySchema)) } } },
    async () => ok(await apiKeys.listPlatformKeys()));
  r.delete('/api/admin/api-keys/:id', { schema: { tags, params: IdParams, response: { 200: successEnvelope(z.object({ revoked: z.literal(true) })) } } },
    async (req) => {
      await apiKeys.revokePlatformKey(adminOf(req), req.params.id);
      return ok({ revoked: true as const });
    });
}
