import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { type Account, bearer, signup } from '../../test-support/accounts.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

async function createKey(acct: Account, body: object) {
  const res = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: bearer(acct.accessToken), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data as { id: string; key: string; prefix: string };
}
const auditLogs = (key: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url: '/api/audit-logs', headers: { ...bearer(key), ...headers } });

describe('tenant API keys', () => {
  it('are shown once, stored as a hash, and listed by prefix', async () => {
    const acct = await signup(t.app);
    const created = await createKey(acct, { name: 'ci', scopes: ['audit:read'], role: 'admin' });
    expect(created.key).toMatch(/^kh_[A-Za-z0-9_-]{43}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const list = await t.app.inject({ method: 'GET', url: '/api/api-keys', headers: bearer(acct.accessToken) });
    expect(list.json().data).toEqual([expect.objectContaining({ id: created.id, name: 'ci', scopes: ['audit:read'], role: 'admin' })]);
    expect(list.body).not.toContain(created.key);
    const admin = await adminClient();
    const { rows } = await admin.query('select key_hash from api_keys where id = $1', [created.id]);
    await admin.end();
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].key_hash).not.toContain(created.key.slice(3));
  });

  it('authenticate as their tenant with their scopes and role', async () => {
    const a = await signup(t.app);
    const b = await signup(t.app);
    const key = (await createKey(a, { name: 'reader', scopes: ['audit:read'], role: 'admin' })).key;
    const res = await auditLogs(key);
    expect(res.statusCode).toBe(200);
    const ids = new Set(res.json().data.map((e: { actor: { id: string } }) => e.actor.id));
    expect(ids.has(b.userId)).toBe(false);
    expect(ids.has(a.userId)).toBe(true);
    // A tenant key acts only in its own tenant: naming another one is refused, naming its own is fine.
    for (const other of [b.tenantId, b.slug]) {
      const pinned = await auditLogs(key, { 'x-keyhold-tenant': other });
      expect([pinned.statusCode, pinned.json().code]).toEqual([403, 'FORBIDDEN']);
    }
    for (const own of [a.tenantId, a.slug]) expect((await auditLogs(key, { 'x-keyhold-tenant': own })).statusCode).toBe(200);
  });

  it('without the scope → 403 naming it; with a too-weak role → 403', async () => {
    const acct = await signup(t.app);
    const noScope = (await createKey(acct, { name: 'proxy only', scopes: ['proxy'], role: 'admin' })).key;
    const res = await auditLogs(noScope);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN', error: "This API key lacks the 'audit:read' scope" });
    const viewer = (await createKey(acct, { name: 'viewer', scopes: ['audit:read'], role: 'viewer' })).key;
    expect((await auditLogs(viewer)).json()).toMatchObject({ code: 'FORBIDDEN', error: 'This action requires the admin role or higher' });
  });

  it('cannot create other keys, and a revoked key stops working', async () => {
    const acct = await signup(t.app);
    const created = await createKey(acct, { name: 'k', scopes: ['audit:read'], role: 'admin' });
    const nested = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: bearer(created.key), payload: { name: 'n', scopes: ['proxy'] } });
    expect(nested.statusCode).toBe(403);
    const other = await signup(t.app);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${created.id}`, headers: bearer(other.accessToken) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${created.id}`, headers: bearer(acct.accessToken) })).statusCode).toBe(200);
    const res = await auditLogs(created.key);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('TOKEN_INVALID');
    expect((await auditLogs(`kh_${'A'.repeat(43)}`)).statusCode).toBe(401);
  });

  it("tenant A's key gets 404 for tenant B's user ids", async () => {
    const a = await signup(t.app);
    const b = await signup(t.app);
    const key = (await createKey(a, { name: 'admin key', scopes: ['users:write'], role: 'admin' })).key;
    const res = await t.app.inject({ method: 'PATCH', url: `/api/users/${b.userId}`, headers: bearer(key), payload: { role: 'viewer' } });
    expect(res.statusCode).toBe(404);
  });
});

describe('platform API keys', () => {
  it('act for the tenant named in X-Keyhold-Tenant, each use audited in that tenant', async () => {
    const a = await signup(t.app);
    const { key, id } = await t.services.apiKeys.createPlatformKey({ tenantId: null, actor: { type: 'platform_admin', id: crypto.randomUUID() } }, { name: 'ops', scopes: ['audit:read'] });
    const res = await auditLogs(key, { 'x-keyhold-tenant': a.slug });
    expect(res.statusCode, res.body).toBe(200);
    const uses = res.json().data.filter((e: { action: string }) => e.action === 'platform_api_key.use');
    expect(uses).toEqual([expect.objectContaining({ actor: { type: 'api_key', id: `platform:${id}` }, metadata: { method: 'GET', path: '/api/audit-logs' } })]);
  });

  it('need the tenant header, a real tenant, and an open tenant', async () => {
    const { key } = await t.services.apiKeys.createPlatformKey({ tenantId: null, actor: systemActor }, { name: 'ops2', scopes: ['audit:read'] });
    expect((await auditLogs(key)).statusCode).toBe(400);
    expect((await auditLogs(key, { 'x-keyhold-tenant': 'no-such-tenant-q' })).statusCode).toBe(404);
    const s = await signup(t.app);
    const admin = await adminClient();
    await admin.query(`update tenants set status = 'cancelled' where id = $1`, [s.tenantId]);
    await admin.end();
    expect((await auditLogs(key, { 'x-keyhold-tenant': s.tenantId })).json().code).toBe('TENANT_SUSPENDED');
  });
});
