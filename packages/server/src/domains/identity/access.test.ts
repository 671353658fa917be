import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import type { PlatformRole } from '../../platform/db/schema.js';
import { type Account, addMember, bearer, createApiKey, enrolMfa, freshIp, signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import { TENANT_KEY_SCOPES } from './principal.js';

let t: Awaited<ReturnType<typeof testApp>>;
let owner: Account;
beforeAll(async () => {
  t = await testApp();
  owner = await signup(t.app);
});
afterAll(() => t.close());

async function tenantKey(scopes: string[], role = 'admin') {
  return (await createApiKey(t.app, t.clock, owner, { name: 'k', scopes, role })).key;
}
const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) =>
  t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
const email = () => `u-${randomUUID().slice(0, 8)}@example.com`;

describe('API-key scopes are enforced, whatever the key role', () => {
  it("an admin-role key with only 'proxy' cannot touch credentials, keys or people", async () => {
    const created = await call('POST', '/api/api-credentials?verify=false', bearer(owner.accessToken), { serviceName: 'stripe', apiKey: `sk_test_${'p'.repeat(24)}`, label: 'scoped' });
    expect(created.statusCode, created.body).toBe(201);
    const other = (await call('POST', '/api/api-keys', bearer(owner.accessToken), { name: 'victim', scopes: ['audit:read'] })).json().data;
    const key = bearer(await tenantKey(['proxy']));
    const refused = [
      await call('GET', '/api/api-credentials', key),
      await call('POST', '/api/api-credentials?verify=false', key, { serviceName: 'openai', apiKey: 'sk-planted' }),
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
    const key = bearer(await tenantKey([...TENANT_KEY_SCOPES]));
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

describe('keys that read secrets, and the people keys act on', () => {
  it("a key with 'credentials:read' is made by the owner with a step-up, never by an admin", async () => {
    const admin = await addMember(t.app, owner, 'admin');
    for (const role of ['viewer', 'member', 'admin']) {
      const r = await call('POST', '/api/api-keys', bearer(admin), { name: 'reader', scopes: ['credentials:read'], role });
      expect([r.statusCode, r.json().code], role).toEqual([403, 'FORBIDDEN']);
    }
    const fresh = await signup(t.app);
    const noCode = await call('POST', '/api/api-keys', bearer(fresh.accessToken), { name: 'reader', scopes: ['credentials:read'] });
    expect([noCode.statusCode, noCode.json().code]).toEqual([403, 'MFA_ENROLLMENT_REQUIRED']);
    const code = await enrolMfa(t.app, t.clock, fresh);
    const ok = await call('POST', '/api/api-keys', { ...bearer(fresh.accessToken), 'x-mfa-code': await code() }, { name: 'reader', scopes: ['credentials:read'] });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it("a platform key with 'credentials:read' is made by a super admin only, and none manages people or keys", async () => {
    const ctx = (role: PlatformRole) => ({ tenantId: null, actor: { type: 'platform_admin' as const, id: randomUUID() }, role });
    await expect(t.services.apiKeys.createPlatformKey(ctx('DEVELOPER'), { name: 'x', scopes: ['credentials:read'] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(t.services.apiKeys.createPlatformKey(ctx('SUPER_ADMIN'), { name: 'x', scopes: ['credentials:read'] })).resolves.toMatchObject({ scopes: ['credentials:read'] });
    for (const scope of ['users:write', 'users:read', 'api_keys:write', 'api_keys:read']) {
      await expect(t.services.apiKeys.createPlatformKey(ctx('SUPER_ADMIN'), { name: 'x', scopes: [scope as 'proxy'] }), scope).rejects.toBeTruthy();
    }
  });

  it('a key cannot launder a scope it lacks through a person: without every scope it adds no admin', async () => {
    const almostAll = TENANT_KEY_SCOPES.filter((s) => s !== 'syncs:run');
    const key = bearer(await tenantKey([...almostAll]));
    const r = await call('POST', '/api/users', key, { email: email(), role: 'admin', method: 'temporary_password' });
    expect([r.statusCode, r.json().code], r.body).toEqual([403, 'FORBIDDEN']);
    expect((await call('POST', '/api/users', key, { email: email(), role: 'member', method: 'invite_token' })).statusCode).toBe(201);
  });

  it("'users:write' alone cannot demote, disable or remove a person stronger than the key", async () => {
    const org = await signup(t.app); // its own organization: the shared one is near its user quota
    const admin = (await call('POST', '/api/users', bearer(org.accessToken), { email: email(), role: 'admin', method: 'invite_token' })).json().data.user;
    const key = bearer((await createApiKey(t.app, t.clock, org, { scopes: ['users:write', 'users:read'], role: 'admin' })).key);
    for (const [method, body] of [['PATCH', { role: 'viewer' }], ['PATCH', { isActive: false }], ['DELETE', undefined]] as const) {
      const r = await call(method, `/api/users/${admin.id}`, key, body);
      expect([r.statusCode, r.json().code], `${method} ${JSON.stringify(body)}`).toEqual([403, 'FORBIDDEN']);
    }
    const viewer = (await call('POST', '/api/users', key, { email: email(), role: 'viewer', method: 'invite_token' })).json().data.user;
    expect((await call('PATCH', `/api/users/${viewer.id}`, key, { isActive: false })).statusCode).toBe(200);
  });

  it('revoking a key revokes the keys it created, down the line', async () => {
    const parent = await tenantKey(['api_keys:write', 'proxy']);
    const child = (await call('POST', '/api/api-keys', bearer(parent), { name: 'child', scopes: ['api_keys:write', 'proxy'], role: 'admin' })).json().data;
    const grandchild = (await call('POST', '/api/api-keys', bearer(child.key), { name: 'grandchild', scopes: ['proxy'], role: 'member' })).json().data;
    const sibling = await tenantKey(['proxy']);
    const parentId = (await call('GET', '/api/api-keys', bearer(owner.accessToken))).json().data.find((k: { prefix: string }) => parent.startsWith(k.prefix)).id;
    expect((await call('DELETE', `/api/api-keys/${parentId}`, bearer(owner.accessToken))).statusCode).toBe(200);
    for (const k of [child.key, grandchild.key]) expect((await call('GET', '/api/auth/me', bearer(k))).statusCode).toBe(401);
    expect((await call('GET', '/api/auth/me', bearer(sibling))).statusCode).toBe(200);
  });

  it('a step-up code is not spent on a request that fails validation', async () => {
    const fresh = await signup(t.app);
    const code = await (await enrolMfa(t.app, t.clock, fresh))();
    const bad = await call('DELETE', '/api/api-credentials/not-a-uuid', { ...bearer(fresh.accessToken), 'x-mfa-code': code });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    const good = await call('DELETE', `/api/api-credentials/${randomUUID()}`, { ...bearer(fresh.accessToken), 'x-mfa-code': code });
    expect([good.statusCode, good.json().code]).toEqual([404, 'NOT_FOUND']);
  });
});
