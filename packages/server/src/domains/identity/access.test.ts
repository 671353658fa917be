import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { type Account, bearer, freshIp, signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import { API_KEY_SCOPES } from './principal.js';

let t: Awaited<ReturnType<typeof testApp>>;
let owner: Account;
beforeAll(async () => {
  t = await testApp();
  owner = await signup(t.app);
});
afterAll(() => t.close());

async function tenantKey(scopes: string[], role = 'admin', by = owner.accessToken) {
  const res = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: bearer(by), payload: { name: 'k', scopes, role } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data.key as string;
}
const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) =>
  t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
const email = () => `u-${randomUUID().slice(0, 8)}@example.com`;

describe('API-key scopes are enforced, whatever the key role', () => {
  it("an admin-role key with only 'proxy' cannot touch credentials, keys or people", async () => {
    const created = await call('POST', '/api/api-credentials', bearer(owner.accessToken), { serviceName: 'stripe', apiKey: `sk_test_${'p'.repeat(24)}`, label: 'scoped' });
    expect(created.statusCode, created.body).toBe(201);
    const other = (await call('POST', '/api/api-keys', bearer(owner.accessToken), { name: 'victim', scopes: ['audit:read'] })).json().data;
    const key = bearer(await tenantKey(['proxy']));
    const refused = [
      await call('GET', '/api/api-credentials', key),
      await call('POST', '/api/api-credentials', key, { serviceName: 'openai', apiKey: 'sk-planted' }),
      await call('PUT', `/api/api-credentials/${created.json().data.id}?verify=false`, key, { isActive: false }),
      await call('DELETE', `/api/api-keys/${other.id}`, key),
      await call('POST', '/api/users', key, { email: email(), role: 'admin', method: 'temporary_password' }),
      await call('GET', '/api/users', key),
    ];
    for (const r of refused) expect([r.statusCode, r.json().code], r.body).toEqual([403, 'FORBIDDEN']);
    expect((await call('GET', `/api/api-credentials/${created.json().data.id}`, bearer(owner.accessToken))).json().data.is_active).toBe(true);
  });

  it("a platform key with only 'audit:read' reads the audit log of the tenant it names, and nothing else", async () => {
    const { key } = await t.services.apiKeys.createPlatformKey({ tenantId: null, actor: systemActor }, { name: 'ops', scopes: ['audit:read'] });
    const h = { ...bearer(key), 'x-keyhold-tenant': owner.slug };
    expect((await call('GET', '/api/audit-logs', h)).statusCode).toBe(200);
    for (const r of [
      await call('GET', '/api/users', h),
      await call('GET', '/api/api-credentials', h),
      await call('POST', '/api/users', h, { email: email(), role: 'admin', method: 'temporary_password' }),
      await call('POST', '/api/api-keys', h, { name: 'x', scopes: ['credentials:read'] }),
    ]) expect([r.statusCode, r.json().code], r.body).toEqual([403, 'FORBIDDEN']);
  });
});

describe('a key never creates a principal stronger than itself', () => {
  it("'users:write' alone invites a viewer, but no member or admin and no promotion", async () => {
    const key = bearer(await tenantKey(['users:write', 'users:read']));
    const viewer = await call('POST', '/api/users', key, { email: email(), role: 'viewer', method: 'invite_token' });
    expect(viewer.statusCode, viewer.body).toBe(201);
    for (const role of ['member', 'admin']) {
      const r = await call('POST', '/api/users', key, { email: email(), role, method: 'temporary_password' });
      expect([r.statusCode, r.json().code], r.body).toEqual([403, 'FORBIDDEN']);
    }
    const promote = await call('PATCH', `/api/users/${viewer.json().data.user.id}`, key, { role: 'admin' });
    expect([promote.statusCode, promote.json().code]).toEqual([403, 'FORBIDDEN']);
  });

  it('a key holding every scope may add an admin, who can sign in', async () => {
    const key = bearer(await tenantKey([...API_KEY_SCOPES]));
    const address = email();
    const res = await call('POST', '/api/users', key, { email: address, role: 'admin', method: 'temporary_password' });
    expect(res.statusCode, res.body).toBe(201);
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: owner.slug, email: address, password: res.json().data.temporaryPassword } });
    expect(login.statusCode).toBe(200);
  });

  it("'api_keys:write' creates keys only within its own scopes", async () => {
    const h = bearer(await tenantKey(['api_keys:write', 'proxy']));
    const ok = await call('POST', '/api/api-keys', h, { name: 'child', scopes: ['proxy'], role: 'member' });
    expect(ok.statusCode, ok.body).toBe(201);
    for (const body of [
      { name: 'wider', scopes: ['proxy', 'credentials:read'], role: 'member' },
      { name: 'unused scope', scopes: ['syncs:run'], role: 'viewer' },
    ]) {
      const r = await call('POST', '/api/api-keys', h, body);
      expect([r.statusCode, r.json().code], body.name).toEqual([403, 'FORBIDDEN']);
    }
  });
});
