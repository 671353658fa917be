import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { testApp, uniqueSlug } from '../../test-support/index.js';
import { STRONG_PASSWORD, bearer, freshIp } from '../../test-support/accounts.js';

type App = Awaited<ReturnType<typeof testApp>>;
const apps: App[] = [];
afterAll(() => Promise.all(apps.map((a) => a.close())));
async function appWith(opts: Parameters<typeof testApp>[0]) {
  const t = await testApp(opts);
  apps.push(t);
  return t;
}

const email = () => `owner-${randomBytes(4).toString('hex')}@example.com`;
const signup = (t: App, body: Record<string, unknown> = {}) =>
  t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { organizationName: 'Acme', slug: uniqueSlug('org'), email: email(), password: STRONG_PASSWORD(), ...body } });

async function adminToken(t: App, role: 'ADMIN' | 'SUPPORT' = 'ADMIN') {
  const address = `ops-${randomBytes(4).toString('hex')}@keyhold.example`;
  const password = STRONG_PASSWORD();
  await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email: address, role, password });
  const res = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email: address, password }, remoteAddress: freshIp() });
  return res.json().data.accessToken as string;
}
const invite = async (t: App, token: string, body: Record<string, unknown> = {}) =>
  t.app.inject({ method: 'POST', url: '/api/admin/signup-invitations', headers: bearer(token), payload: body });

describe('sign-up closed (KEYHOLD_SIGNUP=closed, the production default)', () => {
  let t: App;
  beforeAll(async () => {
    t = await appWith({ signup: 'closed' });
  });

  it('answers 403 SIGNUP_CLOSED and creates nothing', async () => {
    const slug = uniqueSlug('closed');
    const res = await signup(t, { slug });
    expect([res.statusCode, res.json().code]).toEqual([403, 'SIGNUP_CLOSED']);
    expect(await t.services.tenants.idBySlug(slug)).toBeUndefined();
  });

  it('an invitation does not open it either; tenants come from the platform admin API', async () => {
    const admin = await adminToken(t);
    const { token } = (await invite(t, admin)).json().data;
    expect((await signup(t, { invitation: token })).json().code).toBe('SIGNUP_CLOSED');
    const created = await t.app.inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(admin), payload: { slug: uniqueSlug('ops'), name: 'Made by ops' } });
    expect(created.statusCode).toBe(201);
  });
});

describe('sign-up by invitation (KEYHOLD_SIGNUP=invite)', () => {
  let t: App;
  let admin: string;
  beforeAll(async () => {
    t = await appWith({ signup: 'invite' });
    admin = await adminToken(t);
  });

  it('needs an invitation: none is 403 SIGNUP_CLOSED, a made-up one 401 TOKEN_INVALID', async () => {
    expect((await signup(t)).json().code).toBe('SIGNUP_CLOSED');
    for (const invitation of ['khs_madeup', 'not-even-a-token']) {
      const res = await signup(t, { invitation });
      expect([res.statusCode, res.json().code], invitation).toEqual([401, 'TOKEN_INVALID']);
    }
  });

  it('a platform admin with tenants:create issues one (shown once, audited without it); it works once', async () => {
    expect((await invite(t, await adminToken(t, 'SUPPORT'))).statusCode).toBe(403);
    const issued = await invite(t, admin);
    expect(issued.statusCode, issued.body).toBe(201);
    const { id, token } = issued.json().data;
    expect(token).toMatch(/^khs_/);
    const first = await signup(t, { invitation: token });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json().data.tenant.status).toBe('trial');
    const slug = uniqueSlug('again');
    const again = await signup(t, { invitation: token, slug });
    expect([again.statusCode, again.json().code]).toEqual([401, 'TOKEN_INVALID']);
    expect(await t.services.tenants.idBySlug(slug)).toBeUndefined();
    const audit = await t.db.withPlatform((tx) => tx.selectFrom('audit_logs').select(['actor_type', 'metadata']).where('entity_id', '=', id).execute());
    expect(audit.map((a) => a.actor_type)).toEqual(['platform_admin']);
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('an invitation for one address is refused to another; it expires', async () => {
    const invited = email();
    const { token } = (await invite(t, admin, { email: invited.toUpperCase() })).json().data;
    expect((await signup(t, { invitation: token })).json().code).toBe('TOKEN_INVALID');
    expect((await signup(t, { invitation: token, email: invited })).statusCode).toBe(201);
    const { token: shortLived } = (await invite(t, admin, { expiresInDays: 1 })).json().data;
    t.clock.advance(86_400_000 + 1000);
    expect((await signup(t, { invitation: shortLived })).json().code).toBe('TOKEN_INVALID');
    admin = await adminToken(t); // the day also outlived the admin's access token
  });

  it('a sign-up that fails (slug taken) leaves the invitation usable', async () => {
    const { token } = (await invite(t, admin)).json().data;
    const taken = (await signup(t, { invitation: (await invite(t, admin)).json().data.token })).json().data.tenant.slug;
    expect((await signup(t, { invitation: token, slug: taken })).json().code).toBe('CONFLICT');
    expect((await signup(t, { invitation: token })).statusCode).toBe(201);
  });

  it('20 parallel sign-ups with one invitation: exactly one organization is created', async () => {
    const { token } = (await invite(t, admin)).json().data;
    const slugs = Array.from({ length: 20 }, () => uniqueSlug('race'));
    const results = await Promise.all(slugs.map((slug) => signup(t, { invitation: token, slug })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, ...Array(19).fill(401)]);
    const created = (await Promise.all(slugs.map((s) => t.services.tenants.idBySlug(s)))).filter(Boolean);
    expect(created).toHaveLength(1);
  });
});

describe('trial length (KEYHOLD_TRIAL_DAYS)', () => {
  it('0: new organizations start active, from sign-up and from the admin API; a trial cannot be asked for', async () => {
    const t = await appWith({ trialDays: 0 });
    const res = await signup(t);
    expect(res.json().data.tenant.status).toBe('active');
    const tenant = await t.services.tenants.get(res.json().data.tenant.id);
    expect(tenant.trialEndsAt).toBeNull();
    const admin = await adminToken(t);
    const created = await t.app.inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(admin), payload: { slug: uniqueSlug('ops'), name: 'Ops' } });
    expect(created.json().data).toMatchObject({ status: 'active', trialEndsAt: null });
    const trial = await t.app.inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(admin), payload: { slug: uniqueSlug('ops'), name: 'Ops', status: 'trial' } });
    expect([trial.statusCode, trial.json().error]).toEqual([400, 'status: trials are off on this Keyhold (KEYHOLD_TRIAL_DAYS=0)']);
  });

  it('N: a new organization’s trial ends N days after sign-up', async () => {
    const t = await appWith({ trialDays: 3 });
    const res = await signup(t);
    const tenant = await t.services.tenants.get(res.json().data.tenant.id);
    expect(tenant.status).toBe('trial');
    expect(Date.parse(tenant.trialEndsAt!) - t.clock().getTime()).toBe(3 * 86_400_000);
  });
});
