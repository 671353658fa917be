import { successEnvelope } from '@keyhold/contract';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, addMember, bearer, enrolMfa as enrolMfaWith, signup } from '../../test-support/accounts.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { MaskedCredentialSchema } from './connections.routes.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
  // A deliberately wrong route: it tries to put a secret in the masked shape.
  t.app.withTypeProvider<ZodTypeProvider>().get('/test/leaky', { schema: { hide: true, response: { 200: successEnvelope(MaskedCredentialSchema) } } }, async () => ({
    success: true as const,
    data: { id: crypto.randomUUID(), service_name: 'stripe', label: 'default', api_key: 'sk_****1234', api_secret: 'sk_live_LEAKED' as '***', config: {}, status: 'active', is_active: true, last_used: null, last_verified: null, last_refreshed: null, token_expires_at: null, created_at: '', updated_at: '', secrets: 'sk_live_LEAKED' },
  }));
});
afterAll(() => t.close());

const STRIPE_KEY = () => `sk_test_${crypto.randomUUID().replaceAll('-', '')}c123`;
const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, payload?: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method, url, headers: { ...bearer(token), ...headers }, ...(payload ? { payload } : {}) });

const enrolMfa = (acct: Account) => enrolMfaWith(t.app, t.clock, acct);
const member = (owner: Account, role: string) => addMember(t.app, owner, role);

describe('creating credentials', () => {
  it('stores a Stripe key and answers it masked, with the documented shape', async () => {
    const acct = await signup(t.app);
    const key = STRIPE_KEY();
    const res = await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: key });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ success: true, message: 'API credentials created successfully' });
    expect(res.json().data).toMatchObject({ service_name: 'stripe', label: 'default', api_key: `sk_****${key.slice(-4)}`, api_secret: null, is_active: true, status: 'active' });
    expect(res.body).not.toContain(key);
    const dup = await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: STRIPE_KEY() });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ success: false, code: 'CONFLICT', error: "Credentials for service 'stripe' already exist" });
    const second = await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: STRIPE_KEY(), label: 'eu-account' });
    expect(second.statusCode).toBe(201);
  });

  it('validates per catalog field, naming it and never echoing the value', async () => {
    const acct = await signup(t.app);
    const cases: Array<[object, number, string | RegExp]> = [
      [{ serviceName: 'myspace', apiKey: 'x' }, 400, 'UNKNOWN_PROVIDER'],
      [{ serviceName: 'stripe', apiKey: 'pk_live_canary-not-secret' }, 400, /^apiKey: does not look like a Stripe secret key/],
      [{ serviceName: 'shopify', apiKey: 'shpat_abc123' }, 400, 'additionalConfig.storeDomain: required for Shopify'],
      [{ serviceName: 'shopify', apiKey: 'shpat_abc123', additionalConfig: { storeDomain: 'evil.example.com' } }, 400, /^additionalConfig.storeDomain: does not look like/],
      [{ serviceName: 'stripe', apiKey: STRIPE_KEY(), additionalConfig: { colour: 'blue' } }, 400, /^additionalConfig.colour: not a field of Stripe/],
      [{ serviceName: 'stripe' }, 400, /apiKey/],
    ];
    for (const [body, status, expected] of cases) {
      const res = await call('POST', '/api/api-credentials?verify=false', acct.accessToken, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      const { code, error } = res.json();
      if (typeof expected === 'string' && /^[A-Z_]+$/.test(expected)) expect(code).toBe(expected);
      else expect(error).toMatch(expected);
      expect(res.body).not.toContain('canary');
    }
    const list = await call('GET', '/api/api-credentials', acct.accessToken);
    expect(list.json().pagination.total).toBe(0);
  });

  it('enforces max_connections with 409 QUOTA_EXCEEDED', async () => {
    const acct = await signup(t.app);
    const admin = await adminClient();
    await admin.query('update tenants set max_connections = 1 where id = $1', [acct.tenantId]);
    await admin.end();
    expect((await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: STRIPE_KEY() })).statusCode).toBe(201);
    const over = await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'resend', apiKey: 're_abc123' });
    expect(over.statusCode).toBe(409);
    expect(over.json().code).toBe('QUOTA_EXCEEDED');
  });
});

describe('reading and access control', () => {
  it('lists with pagination and filters; members and viewers are refused; another tenant gets 404', async () => {
    const acct = await signup(t.app);
    await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: STRIPE_KEY() });
    await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'resend', apiKey: 're_abc123456', isActive: false });
    await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'mux', apiKey: 'token-id-1', apiSecret: 'mux-secret-value' });
    const page1 = (await call('GET', '/api/api-credentials?page=1&limit=2', acct.accessToken)).json();
    expect(page1.pagination).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2, hasMore: true });
    const inactive = (await call('GET', '/api/api-credentials?isActive=false', acct.accessToken)).json().data;
    expect(inactive.map((c: { service_name: string }) => c.service_name)).toEqual(['resend']);
    const mux = (await call('GET', '/api/api-credentials?serviceName=mux', acct.accessToken)).json().data[0];
    expect(mux).toMatchObject({ api_key: 'tok****id-1', api_secret: '***' });
    for (const role of ['member', 'viewer']) {
      const token = await member(acct, role);
      expect((await call('GET', '/api/api-credentials', token)).statusCode).toBe(403);
      expect((await call('POST', '/api/api-credentials?verify=false', token, { serviceName: 'openai', apiKey: 'sk-abc' })).statusCode).toBe(403);
    }
    const other = await signup(t.app);
    const otherCode = await enrolMfa(other);
    for (const [method, suffix] of [['GET', ''], ['PUT', ''], ['DELETE', ''], ['GET', '/reveal']] as const) {
      const res = await call(method, `/api/api-credentials/${mux.id}${suffix}`, other.accessToken, method === 'PUT' ? { isActive: false } : undefined, { 'x-mfa-code': await otherCode() });
      expect(res.statusCode, `${method} ${suffix}`).toBe(404);
    }
    expect((await call('GET', `/api/api-credentials/${mux.id}`, acct.accessToken)).json().data.is_active).toBe(true);
  });

  it('reveal: owner only, with MFA, audited; the plaintext comes back with a warning', async () => {
    const acct = await signup(t.app);
    const key = STRIPE_KEY();
    const { id } = (await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: key })).json().data;
    expect((await call('GET', `/api/api-credentials/${id}/reveal`, acct.accessToken)).json().code).toBe('MFA_ENROLLMENT_REQUIRED');
    const adminToken = await member(acct, 'admin');
    expect((await call('GET', `/api/api-credentials/${id}/reveal`, adminToken)).json()).toMatchObject({ code: 'FORBIDDEN', error: 'This action requires the owner role' });
    const nextCode = await enrolMfa(acct);
    expect((await call('GET', `/api/api-credentials/${id}/reveal`, acct.accessToken)).json().code).toBe('MFA_REQUIRED');
    const res = await call('GET', `/api/api-credentials/${id}/reveal`, acct.accessToken, undefined, { 'x-mfa-code': await nextCode() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ success: true, data: { api_key: key, service_name: 'stripe' }, warning: 'These are sensitive credentials. Handle with care.' });
    const audit = await t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('audit_logs').select(['action', 'metadata']).where('action', 'like', 'api_credentials.%').orderBy('seq').execute());
    expect(audit.map((a) => a.action)).toEqual(['api_credentials.create', 'api_credentials.reveal']);
    expect(JSON.stringify(audit)).not.toContain(key);
  });
});

describe('updating and deleting', () => {
  it('needs a field; a secret change is a rotation that needs MFA; config and isActive do not', async () => {
    const acct = await signup(t.app);
    const nextCode = await enrolMfa(acct);
    const { id } = (await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: STRIPE_KEY() })).json().data;
    expect((await call('PUT', `/api/api-credentials/${id}`, acct.accessToken, {})).statusCode).toBe(400);
    const off = await call('PUT', `/api/api-credentials/${id}`, acct.accessToken, { isActive: false });
    expect(off.json().data).toMatchObject({ is_active: false, status: 'disabled' });
    const newKey = STRIPE_KEY();
    expect((await call('PUT', `/api/api-credentials/${id}?verify=false`, acct.accessToken, { apiKey: newKey })).json().code).toBe('MFA_REQUIRED');
    const rotated = await call('PUT', `/api/api-credentials/${id}?verify=false`, acct.accessToken, { apiKey: newKey }, { 'x-mfa-code': await nextCode() });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json().data.api_key).toBe(`sk_****${newKey.slice(-4)}`);
    const revealed = await call('GET', `/api/api-credentials/${id}/reveal`, acct.accessToken, undefined, { 'x-mfa-code': await nextCode() });
    expect(revealed.json().data.api_key).toBe(newKey);
  });

  it('delete: owner with MFA only', async () => {
    const acct = await signup(t.app);
    const nextCode = await enrolMfa(acct);
    const { id } = (await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'openai', apiKey: 'sk-proj-abc123def456' })).json().data;
    const adminToken = await member(acct, 'admin');
    expect((await call('DELETE', `/api/api-credentials/${id}`, adminToken)).statusCode).toBe(403);
    expect((await call('DELETE', `/api/api-credentials/${id}`, acct.accessToken)).json().code).toBe('MFA_REQUIRED');
    expect((await call('DELETE', `/api/api-credentials/${id}`, acct.accessToken, undefined, { 'x-mfa-code': await nextCode() })).statusCode).toBe(200);
    expect((await call('GET', `/api/api-credentials/${id}`, acct.accessToken)).statusCode).toBe(404);
  });
});

describe('the masked schema cannot carry a secret', () => {
  it('a handler that tries is answered 500, and the secret is not sent', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/test/leaky' });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('LEAKED');
    expect(MaskedCredentialSchema.safeParse({ ...MaskedCredentialSchema.parse({ id: crypto.randomUUID(), service_name: 's', label: 'l', api_key: 'x', api_secret: null, config: {}, status: 'active', is_active: true, last_used: null, last_verified: null, last_refreshed: null, token_expires_at: null, created_at: '', updated_at: '' }), secrets: 'x' }).data).not.toHaveProperty('secrets');
  });

  it('a planted key appears in no list/get response, log line or audit entry', async () => {
    const acct = await signup(t.app);
    const key = STRIPE_KEY();
    const { id } = (await call('POST', '/api/api-credentials?verify=false', acct.accessToken, { serviceName: 'stripe', apiKey: key })).json().data;
    const bodies = [(await call('GET', '/api/api-credentials', acct.accessToken)).body, (await call('GET', `/api/api-credentials/${id}`, acct.accessToken)).body];
    const audit = await t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('audit_logs').selectAll().orderBy('seq').execute());
    for (const text of [...bodies, t.logs.text(), JSON.stringify(audit)]) expect(text).not.toContain(key);
  });
});
