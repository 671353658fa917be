import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Access, allows, platformRefusal, refusal } from '../../domains/identity/access.js';
import type { TenantPrincipal } from '../../domains/identity/principal.js';
import type { AdminPrincipal } from '../../domains/platform-admins/admin-auth.service.js';
import { AppError } from '../errors.js';
import { authPlugin } from './auth-plugin.js';
import { installErrorHandling } from './error-handler.js';
import { adminOf, principalOf } from './principals.js';

/**
 * The auth edge as a mechanism, on a small table of its own: routes declare nothing, and the
 * plugin authenticates, enforces the table, validates, then checks text and step-up, in that order.
 */
const TABLE: Record<string, Access> = {
  'GET /open': { kind: 'public' },
  'POST /members': { kind: 'tenant', role: 'member', scope: 'proxy' },
  'POST /owner-mfa': { kind: 'tenant', role: 'owner', scope: null, stepUp: true },
  'GET /scoped/inner': { kind: 'tenant', role: 'viewer', scope: 'any' },
  'GET /platform': { kind: 'platform', permission: 'tenants:delete' },
};

const person = (role: TenantPrincipal['role']): TenantPrincipal => ({ tenantId: '00000000-0000-4000-8000-000000000001', actor: { type: 'user', id: 'u' }, role, userId: 'u' });
const PEOPLE: Record<string, TenantPrincipal> = { 'member-token': person('member'), 'viewer-token': person('viewer'), 'owner-token': person('owner') };
const ADMINS: Record<string, AdminPrincipal> = {
  'super-token': { tenantId: null, actor: { type: 'platform_admin', id: 'a' }, adminId: 'a', role: 'SUPER_ADMIN', sessionId: 's' },
  'sales-token': { tenantId: null, actor: { type: 'platform_admin', id: 'b' }, adminId: 'b', role: 'SALES', sessionId: 's' },
};

async function edgeApp() {
  const calls = { tenant: 0, stepUp: [] as Array<string | undefined> };
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  await app.register(authPlugin, {
    // As the real table: a HEAD answers as its GET.
    accessOf: (method, url) => TABLE[`${method === 'HEAD' ? 'GET' : method} ${url}`],
    async tenantPrincipal(token) {
      calls.tenant++;
      const p = PEOPLE[token];
      if (!p) throw new AppError('TOKEN_INVALID', 'The token is not valid');
      return p;
    },
    async platformAdmin(token) {
      const a = ADMINS[token];
      if (!a) throw new AppError('TOKEN_INVALID', 'The token is not valid');
      return a;
    },
    tenantRefusal: (a, p) => (allows(a, p) ? null : refusal(a, p)),
    platformRefusal: (a, admin) => platformRefusal(a, admin.role),
    async verifyStepUp(_p, code) {
      calls.stepUp.push(code);
      if (code !== '123456') throw new AppError('MFA_REQUIRED', 'Send a fresh code');
    },
  });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const body = z.object({ name: z.string().max(10) });
  r.get('/open', async () => ({ ok: true }));
  r.post('/members', { schema: { body, querystring: z.object({ q: z.string().optional() }) } }, async (req) => ({ role: principalOf(req).role }));
  r.post('/owner-mfa', { schema: { body } }, async (req) => ({ role: principalOf(req).role }));
  r.get('/platform', async (req) => ({ role: adminOf(req).role }));
  r.get('/docs/page', async () => 'outside the API');
  // An encapsulated scope (as the proxy has) is guarded by the same root plugin.
  await app.register(async (scope) => {
    scope.get('/scoped/inner', async (req) => ({ role: principalOf(req).role }));
  }, { prefix: '' });
  await app.ready();
  return { app, calls };
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('auth plugin', () => {
  it('public routes need nothing; guarded routes declare nothing and still refuse a missing or bad token', async () => {
    const { app, calls } = await edgeApp();
    expect((await app.inject({ method: 'GET', url: '/open' })).statusCode).toBe(200);
    expect(calls.tenant).toBe(0);
    const none = await app.inject({ method: 'POST', url: '/members', payload: { name: 'x' } });
    expect([none.statusCode, none.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await app.inject({ method: 'POST', url: '/members', headers: auth('nobody'), payload: { name: 'x' } })).json().code).toBe('TOKEN_INVALID');
    expect((await app.inject({ method: 'GET', url: '/scoped/inner' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/scoped/inner', headers: auth('viewer-token') })).json()).toEqual({ role: 'viewer' });
    expect((await app.inject({ method: 'GET', url: '/docs/page' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/no-such-route' })).statusCode).toBe(404);
  });

  it('enforces the table: role for tenant principals, permission for platform admins, and each kind only at its door', async () => {
    const { app } = await edgeApp();
    const viewer = await app.inject({ method: 'POST', url: '/members', headers: auth('viewer-token'), payload: { name: 'x' } });
    expect([viewer.statusCode, viewer.json().code, viewer.json().error]).toEqual([403, 'FORBIDDEN', 'This action requires the member role or higher']);
    expect((await app.inject({ method: 'POST', url: '/members', headers: auth('member-token'), payload: { name: 'x' } })).json()).toEqual({ role: 'member' });
    expect((await app.inject({ method: 'GET', url: '/platform', headers: auth('super-token') })).json()).toEqual({ role: 'SUPER_ADMIN' });
    const sales = await app.inject({ method: 'GET', url: '/platform', headers: auth('sales-token') });
    expect([sales.statusCode, sales.json().code]).toEqual([403, 'FORBIDDEN']);
    expect((await app.inject({ method: 'GET', url: '/platform', headers: auth('owner-token') })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/members', headers: auth('super-token'), payload: { name: 'x' } })).statusCode).toBe(401);
  });

  it('authenticates before validation, checks text after it, and spends a step-up code only on valid input', async () => {
    const { app, calls } = await edgeApp();
    // No token: 401 whatever the input, so an anonymous caller learns nothing about input rules.
    expect((await app.inject({ method: 'POST', url: '/members?q=%00', payload: { name: 'far too long a name' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/members?q=%00', headers: auth('member-token'), payload: { name: 'x' } })).json().code).toBe('VALIDATION_FAILED');
    const invalid = await app.inject({ method: 'POST', url: '/owner-mfa', headers: { ...auth('owner-token'), 'x-mfa-code': '123456' }, payload: { name: 'far too long a name' } });
    expect([invalid.statusCode, calls.stepUp]).toEqual([400, []]);
    const noCode = await app.inject({ method: 'POST', url: '/owner-mfa', headers: auth('owner-token'), payload: { name: 'x' } });
    expect([noCode.statusCode, noCode.json().code]).toEqual([403, 'MFA_REQUIRED']);
    const ok = await app.inject({ method: 'POST', url: '/owner-mfa', headers: { ...auth('owner-token'), 'x-mfa-code': '123456' }, payload: { name: 'x' } });
    expect([ok.statusCode, calls.stepUp]).toEqual([200, [undefined, '123456']]);
  });

  it('refuses to register a documented route the table does not know', async () => {
    const fresh = Fastify();
    await fresh.register(authPlugin, { accessOf: () => undefined } as never);
    expect(() => fresh.get('/api/unknown', async () => ({}))).toThrow(/GET \/api\/unknown has no entry in OPERATION_ACCESS/);
    expect(() => fresh.get('/hidden', { schema: { hide: true } }, async () => ({}))).not.toThrow();
    await fresh.close();
  });
});
