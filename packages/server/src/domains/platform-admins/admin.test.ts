import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import type { PlatformRole } from '../../platform/db/schema.js';
import { startJobRunner } from '../../platform/jobs.js';
import { silentLogger, testApp, uniqueSlug } from '../../test-support/index.js';
import { inject } from 'vitest';
import { STRONG_PASSWORD, bearer, freshIp, signup, totpAt } from '../../test-support/accounts.js';
import { EXPIRE_TRIALS_JOB, registerTenantJobs } from '../tenants/tenants.jobs.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

async function adminToken(role: PlatformRole) {
  const email = `${role.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}@keyhold.example`;
  const password = STRONG_PASSWORD();
  await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role, password });
  const res = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password }, remoteAddress: freshIp() });
  expect(res.statusCode, res.body).toBe(200);
  return { token: res.json().data.accessToken as string, refreshToken: res.json().data.refreshToken as string, email, password };
}
const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: object) =>
  t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

describe('platform admin sign-in', () => {
  it('signs in and keeps tenant and admin tokens apart', async () => {
    const admin = await adminToken('SUPER_ADMIN');
    expect((await call('GET', '/api/admin/auth/me', admin.token)).json().data).toMatchObject({ email: admin.email, role: 'SUPER_ADMIN' });
    const tenant = await signup(t.app);
    const crossA = await call('GET', '/api/admin/auth/me', tenant.accessToken);
    expect(crossA.statusCode).toBe(401);
    expect(crossA.json().code).toBe('TOKEN_INVALID');
    const crossB = await call('GET', '/api/auth/me', admin.token);
    expect(crossB.statusCode).toBe(401);
    expect(crossB.json().code).toBe('TOKEN_INVALID');
    expect((await call('GET', '/api/admin/tenants', tenant.accessToken)).statusCode).toBe(401);
  });

  it('rotates refresh tokens and ends the session on reuse', async () => {
    const admin = await adminToken('ADMIN');
    const next = await t.app.inject({ method: 'POST', url: '/api/admin/auth/refresh', payload: { refreshToken: admin.refreshToken } });
    expect(next.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/admin/auth/refresh', payload: { refreshToken: admin.refreshToken } })).statusCode).toBe(401);
    expect((await call('GET', '/api/admin/auth/me', next.json().data.accessToken)).statusCode).toBe(401);
  });

  it('supports MFA', async () => {
    const admin = await adminToken('SUPPORT');
    const { secret } = (await call('POST', '/api/admin/auth/mfa/setup', admin.token)).json().data;
    expect((await call('POST', '/api/admin/auth/mfa/enable', admin.token, { code: await totpAt(secret, t.clock()) })).statusCode).toBe(200);
    t.clock.advance(30_000);
    const login = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email: admin.email, password: admin.password }, remoteAddress: freshIp() });
    const { mfaToken } = login.json().data;
    expect(mfaToken).toBeTruthy();
    const code = await totpAt(secret, t.clock());
    expect((await t.app.inject({ method: 'POST', url: '/api/admin/auth/mfa/verify', payload: { mfaToken, code } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/admin/auth/mfa/verify', payload: { mfaToken, code } })).statusCode).toBe(401);
  });
});

describe('tenant lifecycle', () => {
  it('enforces the role table', async () => {
    const support = await adminToken('SUPPORT');
    const marketing = await adminToken('MARKETING');
    const finance = await adminToken('FINANCE');
    const tenant = await signup(t.app);
    expect((await call('GET', `/api/admin/tenants/${tenant.tenantId}`, marketing.token)).statusCode).toBe(200);
    const denied = await call('POST', '/api/admin/tenants', support.token, { slug: uniqueSlug(), name: 'x' });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toBe("Your platform role (SUPPORT) does not allow 'tenants:create'");
    expect((await call('POST', `/api/admin/tenants/${tenant.tenantId}/suspend`, marketing.token, { reason: 'x' })).statusCode).toBe(403);
    expect((await call('DELETE', `/api/admin/tenants/${tenant.tenantId}`, support.token)).statusCode).toBe(403);
    const plan = await call('PATCH', `/api/admin/tenants/${tenant.tenantId}`, finance.token, { plan: 'enterprise', maxUsers: 50 });
    expect(plan.json().data).toMatchObject({ plan: 'enterprise', maxUsers: 50 });
    expect((await call('GET', '/api/admin/api-keys', finance.token)).statusCode).toBe(403);
  });

  it('creates, searches and paginates tenants', async () => {
    const sales = await adminToken('SALES');
    const marker = uniqueSlug('srch');
    for (const n of [1, 2, 3]) {
      const res = await call('POST', '/api/admin/tenants', sales.token, { slug: `${marker}-${n}`, name: `Search ${n}`, plan: 'professional', status: 'active' });
      expect(res.statusCode, res.body).toBe(201);
    }
    const res = await call('GET', `/api/admin/tenants?search=${marker}&status=active&plan=professional&limit=2`, sales.token);
    expect(res.json().pagination).toMatchObject({ total: 3, totalPages: 2, hasMore: true });
    expect(res.json().data.map((x: { slug: string }) => x.slug)).toHaveLength(2);
    expect((await call('GET', `/api/admin/tenants?search=${marker}&status=trial`, sales.token)).json().pagination.total).toBe(0);
    expect((await call('GET', '/api/admin/tenants?search=%25', sales.token)).statusCode).toBe(200);
    expect((await call('GET', '/api/admin/tenants?limit=501', sales.token)).statusCode).toBe(400);
  });

  it('suspension locks the tenant out at once; reactivation lets it back; both audited with the reason', async () => {
    const admin = await adminToken('ADMIN');
    const tenant = await signup(t.app);
    const suspend = await call('POST', `/api/admin/tenants/${tenant.tenantId}/suspend`, admin.token, { reason: 'unpaid invoice' });
    expect(suspend.json().data.status).toBe('suspended');
    expect((await call('GET', '/api/auth/me', tenant.accessToken)).json().code).toBe('TENANT_SUSPENDED');
    await call('POST', `/api/admin/tenants/${tenant.tenantId}/reactivate`, admin.token);
    expect((await call('GET', '/api/auth/me', tenant.accessToken)).statusCode).toBe(200);
    const entries = await t.db.withTenant(tenant.tenantId, (tx) => tx.selectFrom('audit_logs').select(['action', 'actor_type', 'metadata']).execute());
    expect(entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'tenant.suspend', actor_type: 'platform_admin', metadata: expect.objectContaining({ reason: 'unpaid invoice' }) }),
      expect.objectContaining({ action: 'tenant.reactivate', actor_type: 'platform_admin' }),
    ]));
  });

  it('soft-deletes a tenant: gone from reads and sign-in', async () => {
    const superAdmin = await adminToken('SUPER_ADMIN');
    const tenant = await signup(t.app);
    expect((await call('DELETE', `/api/admin/tenants/${tenant.tenantId}`, superAdmin.token)).json().data.status).toBe('cancelled');
    expect((await call('GET', `/api/admin/tenants/${tenant.tenantId}`, superAdmin.token)).statusCode).toBe(404);
    expect((await call('GET', '/api/auth/me', tenant.accessToken)).statusCode).toBe(401);
  });

  it('expires trials past their end date, and only those', async () => {
    const admin = await adminToken('ADMIN');
    const due = await signup(t.app);
    const notDue = await signup(t.app);
    await call('PATCH', `/api/admin/tenants/${due.tenantId}`, admin.token, { trialEndsAt: new Date(t.clock().getTime() - 60_000).toISOString() });
    const expired = await t.services.tenants.expireTrials({ actor: systemActor });
    expect(expired).toContain(due.tenantId);
    expect(expired).not.toContain(notDue.tenantId);
    expect((await t.services.tenants.get(due.tenantId)).status).toBe('trial_expired');
    expect((await t.services.tenants.get(notDue.tenantId)).status).toBe('trial');
  });

  it('runs trial expiry as a pg-boss job', async () => {
    const tenant = await signup(t.app);
    const admin = await adminToken('ADMIN');
    await call('PATCH', `/api/admin/tenants/${tenant.tenantId}`, admin.token, { trialEndsAt: new Date(Date.now() - 60_000).toISOString() });
    const jobs = await startJobRunner({ url: inject('jobsUrl'), log: silentLogger() });
    try {
      await registerTenantJobs(jobs, t.services.tenants);
      await jobs.runNow(EXPIRE_TRIALS_JOB);
      const deadline = Date.now() + 20_000;
      while ((await t.services.tenants.get(tenant.tenantId)).status !== 'trial_expired' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await t.services.tenants.get(tenant.tenantId)).status).toBe('trial_expired');
    } finally {
      await jobs.stop();
    }
  }, 30_000);
});
