import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import type { PlatformRole } from '../../platform/db/schema.js';
import { STRONG_PASSWORD, addMember, bearer, freshIp, signup } from '../../test-support/accounts.js';
import { type TestApp, migratedScratch, testApp, testRing } from '../../test-support/index.js';
import { adminQuery } from '../../test-support/oauth.js';
import { seedHealth } from '../../test-support/platform-health.js';

/**
 * The platform console's health figures, admins list and tenant usage. A database of this file's
 * own: the figures cross every tenant, so other files' tenants would change them.
 */
let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let t: TestApp;
beforeAll(async () => {
  scratch = await migratedScratch();
  t = await testApp({ db: scratch.db });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await scratch?.drop();
});

async function adminLogin(role: PlatformRole) {
  const email = `${role.toLowerCase()}-${randomBytes(4).toString('hex')}@keyhold.example`;
  const password = STRONG_PASSWORD();
  await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role, password });
  const res = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password }, remoteAddress: freshIp() });
  expect(res.statusCode, res.body).toBe(200);
  return { email, token: res.json().data.accessToken as string, res };
}
const get = (url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

describe('platform health', () => {
  it('an empty platform shows zeros, not errors', async () => {
    const { token } = await adminLogin('SUPPORT');
    const res = await get('/api/admin/health', token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ connections: { total: 0, byStatus: {} }, needsReauth: 0, tokens: { expired: 0, expiringSoon: 0 }, failingSyncs: 0, webhookQuarantine: 0, attention: [] });
  });

  it('counts what was seeded across tenants: statuses, expired and expiring tokens, failing syncs (latest finished run), quarantine; a cancelled tenant counts nothing', async () => {
    const { expected, a, b } = await seedHealth(t, scratch.adminUrl);
    const { token } = await adminLogin('ADMIN');
    const res = await get('/api/admin/health', token);
    expect(res.statusCode, res.body).toBe(200);
    const h = res.json().data;
    expect(h).toMatchObject({ ...expected, attention: expected.attention.map((x) => expect.objectContaining(x)) });
    expect(h.attention.map((x: { slug: string }) => x.slug)).toEqual([a.slug, b.slug]);
    // Key status: the ring's current master key, and every data key counted (as the owner role sees them).
    const [{ n }] = await adminQuery(scratch.adminUrl, `select count(*)::int as n from tenant_keys where state = 'active'`);
    expect(h.keys.currentMasterKey).toBe(testRing().current.id);
    expect(h.keys.dataKeys.reduce((s: number, k: { count: number; state: string }) => s + (k.state === 'active' ? k.count : 0), 0)).toBe(n);
    expect(n).toBeGreaterThanOrEqual(3);
    expect(h.keys.awaitingRewrap).toBe(0);
    // Counts and ids only: no tenant's secret, routing key or config reaches the page.
    const secrets = await adminQuery(scratch.adminUrl, 'select secrets, routing_key from connections');
    for (const s of secrets) {
      expect(res.body).not.toContain(s.secrets);
      if (s.routing_key) expect(res.body).not.toContain(s.routing_key);
    }
    expect(res.body).not.toContain('myshopify.com');

    // A master key rotation under way: data keys still wrapped by an older master key are shown as awaiting rewrap.
    await adminQuery(scratch.adminUrl, `update tenant_keys set kek_id = 'retiring-key' where tenant_id = $1`, [a.tenantId]);
    const during = (await get('/api/admin/health', token)).json().data;
    expect(during.keys.awaitingRewrap).toBe(1);
    expect(during.keys.dataKeys).toContainEqual(expect.objectContaining({ masterKey: 'retiring-key', state: 'active', count: 1 }));
    await adminQuery(scratch.adminUrl, `update tenant_keys set kek_id = $2 where tenant_id = $1`, [a.tenantId, testRing().current.id]);
  });

  it('platform roles as access.ts says: operations staff read it, marketing/finance/sales are refused; tenant users and tenant keys are refused', async () => {
    for (const role of ['SUPER_ADMIN', 'ADMIN', 'DEVELOPER', 'SUPPORT'] as const) {
      const { token } = await adminLogin(role);
      expect((await get('/api/admin/health', token)).statusCode, role).toBe(200);
      expect((await get('/api/admin/admins', token)).statusCode, role).toBe(200);
    }
    for (const role of ['MARKETING', 'FINANCE', 'SALES'] as const) {
      const { token } = await adminLogin(role);
      for (const url of ['/api/admin/health', '/api/admin/admins']) {
        const res = await get(url, token);
        expect(res.statusCode, `${role} ${url}`).toBe(403);
        expect(res.json().code).toBe('FORBIDDEN');
      }
    }
    const owner = await signup(t.app);
    for (const url of ['/api/admin/health', '/api/admin/admins', `/api/admin/tenants/${owner.tenantId}/usage`]) {
      const res = await get(url, owner.accessToken);
      expect(res.statusCode, url).toBe(401);
      expect(res.body).not.toContain('connections');
    }
  });

  it('the admins list has role, MFA and last sign-in, never a password hash or TOTP secret', async () => {
    const { token, email } = await adminLogin('SUPER_ADMIN');
    const res = await get('/api/admin/admins', token);
    const me = res.json().data.find((x: { email: string }) => x.email === email);
    expect(me).toMatchObject({ role: 'SUPER_ADMIN', isActive: true, mfaEnabled: false });
    expect(me.lastLoginAt).not.toBeNull();
    expect(res.body).not.toMatch(/argon2|password|mfa_secret|mfaSecret/i);
  });

  it("a tenant's usage against its quotas, read inside its own context; a missing tenant is 404", async () => {
    const owner = await signup(t.app);
    await addMember(t.app, owner, 'member');
    await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken), payload: { serviceName: 'stripe', apiKey: `sk_test_${randomBytes(12).toString('hex')}` } });
    const { token } = await adminLogin('SALES');
    const res = await get(`/api/admin/tenants/${owner.tenantId}/usage`, token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toEqual({ users: 2, maxUsers: 5, connections: 1, maxConnections: 10, connectionsByStatus: { active: 1 }, apiKeys: 0 });
    expect((await get(`/api/admin/tenants/${crypto.randomUUID()}/usage`, token)).statusCode).toBe(404);
  });

  it('the console keeps its refresh token in an HttpOnly cookie on /api/admin/auth: a reload signs in again with it, sign-out clears it', async () => {
    const { res } = await adminLogin('SUPPORT');
    const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('keyhold_admin_refresh='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Path=\/api\/admin\/auth/);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const again = await t.app.inject({ method: 'POST', url: '/api/admin/auth/refresh', headers: { cookie: cookie.split(';')[0]! }, payload: {} });
    expect(again.statusCode, again.body).toBe(200);
    expect((await get('/api/admin/auth/me', again.json().data.accessToken)).statusCode).toBe(200);
    const out = await t.app.inject({ method: 'POST', url: '/api/admin/auth/logout', headers: bearer(again.json().data.accessToken), payload: {} });
    expect(([] as string[]).concat(out.headers['set-cookie'] ?? []).some((c) => /^keyhold_admin_refresh=;.*Path=\/api\/admin\/auth/i.test(c))).toBe(true);
    // The old cookie was rotated: using it again is reuse, and is refused.
    expect((await t.app.inject({ method: 'POST', url: '/api/admin/auth/refresh', headers: { cookie: cookie.split(';')[0]! }, payload: {} })).statusCode).toBe(401);
  });
});
