import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEYS, adminClient, testApp } from '../../test-support/index.js';
import { createAttemptLimiter } from './attempts.js';
import { createAttemptsRepo } from './attempts.repo.js';
import { type Account, STRONG_PASSWORD, bearer, freshIp, signup } from '../../test-support/accounts.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const login = (body: Record<string, unknown>, ip = freshIp()) =>
  t.app.inject({ method: 'POST', url: '/api/auth/login', payload: body, remoteAddress: ip });
const me = (token: string) => t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) });
const refresh = (refreshToken: string) => t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } });

describe('sign-up', () => {
  it('creates a trial tenant and its owner, signed in, with a strict HttpOnly refresh cookie', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      payload: { organizationName: 'Globex Corporation', email: 'Founder@Globex.example', password: STRONG_PASSWORD() },
    });
    expect(res.statusCode).toBe(201);
    const d = res.json().data;
    expect(d.tenant).toMatchObject({ status: 'trial', name: 'Globex Corporation' });
    expect(d.tenant.slug).toMatch(/^globex-corporation-[0-9a-f]{6}$/);
    expect(d.user).toMatchObject({ email: 'founder@globex.example', role: 'owner', mfaEnabled: false });
    expect(d.refreshToken).toMatch(/^khr_/);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toContain(`keyhold_refresh=${d.refreshToken}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/); // plain http here; https requests get Secure
    const tenant = await t.services.tenants.get(d.tenant.id);
    expect((Date.parse(tenant.trialEndsAt!) - Date.parse(tenant.createdAt)) / 86_400_000).toBeCloseTo(14, 3);
  });

  it.each([
    ['short1!', 'password: must be at least 12 characters'],
    ['x'.repeat(129), 'password: must be at most 128 characters'],
    ['password1234', 'password: is too common'],
    ['1qaz2wsx3edc', 'password: is too common'],
  ])('refuses the password %j with a 400 naming the rule, creating nothing', async (password, rule) => {
    const slug = `weak-${Math.random().toString(36).slice(2, 10)}`;
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { organizationName: 'Weak', slug, email: 'a@b.example', password } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(res.json().error).toContain(rule);
    expect(await t.services.tenants.idBySlug(slug)).toBeUndefined();
  });

  it('refuses a taken slug with 409 CONFLICT', async () => {
    const a = await signup(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { organizationName: 'Copy', slug: a.slug, email: 'x@y.example', password: STRONG_PASSWORD() } });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CONFLICT');
  });
});

describe('sign-in', () => {
  let acct: Account;
  beforeAll(async () => {
    acct = await signup(t.app);
  });

  it('returns tokens for the right password', async () => {
    const res = await login({ tenant: acct.slug, email: acct.email.toUpperCase(), password: acct.password });
    expect(res.statusCode).toBe(200);
    expect((await me(res.json().data.accessToken)).json().data).toMatchObject({ role: 'owner', user: { id: acct.userId } });
  });

  it('answers an unknown user, an unknown tenant and a wrong password identically', async () => {
    const bodies = [
      { tenant: acct.slug, email: 'nobody@example.com', password: acct.password },
      { tenant: 'no-such-tenant-zz', email: acct.email, password: acct.password },
      { tenant: acct.slug, email: acct.email, password: `${acct.password}x` },
    ];
    const answers = [];
    for (const b of bodies) {
      const res = await login(b);
      answers.push({ status: res.statusCode, code: res.json().code, error: res.json().error });
    }
    expect(answers).toEqual(Array(3).fill({ status: 401, code: 'INVALID_CREDENTIALS', error: 'The email or password is incorrect' }));
  });

  it('locks an account after 10 failures with 429 and Retry-After, even for the right password, until the window passes', async () => {
    const victim = await signup(t.app);
    for (let i = 0; i < 10; i++) {
      expect((await login({ tenant: victim.slug, email: victim.email, password: 'wrong-password-123' })).statusCode).toBe(401);
    }
    const blocked = await login({ tenant: victim.slug, email: victim.email, password: victim.password });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    t.clock.advance(15 * 60_000 + 1000);
    expect((await login({ tenant: victim.slug, email: victim.email, password: victim.password })).statusCode).toBe(200);
  });

  it('prunes counters whose window has ended, and only those', async () => {
    const admin = await adminClient();
    const old = `test-old-${crypto.randomUUID()}`;
    const fresh = `test-fresh-${crypto.randomUUID()}`;
    await admin.query(`insert into auth_attempts values ($1, now() - interval '1 hour', 3), ($2, now(), 3)`, [old, fresh]);
    // Real time, not the test clock: other test files' counters are recent and must survive.
    const limiter = createAttemptLimiter({ repo: createAttemptsRepo(t.db.kysely), clock: () => new Date() });
    await limiter.prune();
    const { rows } = await admin.query('select key_hash from auth_attempts where key_hash = any($1)', [[old, fresh]]);
    await admin.end();
    expect(rows.map((r) => r.key_hash)).toEqual([fresh]);
  });

  it('limits failures per client address across accounts', async () => {
    const ip = freshIp();
    for (let i = 0; i < 100; i++) {
      await login({ tenant: 'no-such-tenant-zz', email: `spray${i}@example.com`, password: 'wrong-password-123' }, ip);
    }
    const res = await login({ tenant: acct.slug, email: acct.email, password: acct.password }, ip);
    expect(res.statusCode).toBe(429);
    expect((await login({ tenant: acct.slug, email: acct.email, password: acct.password })).statusCode).toBe(200);
  }, 60_000);
});

describe('access tokens', () => {
  let acct: Account;
  beforeAll(async () => {
    acct = await signup(t.app);
  });

  const claims = () => ({ sub: acct.userId, tid: acct.tenantId, role: 'owner', sid: crypto.randomUUID(), typ: 'access' });

  it('authenticates /api/auth/me and refuses a missing token', async () => {
    expect((await me(acct.accessToken)).statusCode).toBe(200);
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/me' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHENTICATED');
  });

  it('refuses alg=none, a foreign key, the platform audience and a wrong type', async () => {
    const exp = Math.floor(t.clock().getTime() / 1000) + 600;
    const none = new UnsecuredJWT(claims()).setIssuer('keyhold').setAudience('keyhold:tenant').setExpirationTime(exp).encode();
    const foreign = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('keyhold').setAudience('keyhold:tenant').setExpirationTime(exp).sign(crypto.getRandomValues(new Uint8Array(32)));
    const platform = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('keyhold').setAudience('keyhold:platform').setExpirationTime(exp).sign(TEST_KEYS.platformKey);
    const platformAudOwnKey = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('keyhold').setAudience('keyhold:platform').setExpirationTime(exp).sign(TEST_KEYS.tenantKey);
    const mfaTyped = await new SignJWT({ ...claims(), typ: 'mfa' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('keyhold').setAudience('keyhold:tenant').setExpirationTime(exp).sign(TEST_KEYS.tenantKey);
    const hs512 = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512', typ: 'JWT' }).setIssuer('keyhold').setAudience('keyhold:tenant').setExpirationTime(exp).sign(TEST_KEYS.tenantKey);
    for (const token of [none, foreign, platform, platformAudOwnKey, mfaTyped, hs512, 'not.a.jwt']) {
      const res = await me(token);
      expect(res.statusCode, token).toBe(401);
      expect(res.json().code).toBe('TOKEN_INVALID');
    }
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const res1 = await login({ tenant: acct.slug, email: acct.email, password: acct.password });
    const token = res1.json().data.accessToken;
    t.clock.advance(16 * 60_000);
    const res = await me(token);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('TOKEN_EXPIRED');
  });

  it('locks out every session of a suspended tenant at once, and its sign-ins', async () => {
    const victim = await signup(t.app);
    expect((await me(victim.accessToken)).statusCode).toBe(200);
    const admin = await adminClient();
    await admin.query(`update tenants set status = 'suspended' where id = $1`, [victim.tenantId]);
    await admin.end();
    const res = await me(victim.accessToken);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('TENANT_SUSPENDED');
    expect((await refresh(victim.refreshToken)).json().code).toBe('TENANT_SUSPENDED');
    expect((await login({ tenant: victim.slug, email: victim.email, password: victim.password })).json().code).toBe('TENANT_SUSPENDED');
  });
});

describe('refresh tokens and sessions', () => {
  it('rotates: a new pair each time, and the old refresh token is dead', async () => {
    const a = await signup(t.app);
    const r1 = await refresh(a.refreshToken);
    expect(r1.statusCode).toBe(200);
    const next = r1.json().data;
    expect(next.refreshToken).not.toBe(a.refreshToken);
    expect((await me(next.accessToken)).statusCode).toBe(200);
    const r2 = await refresh(next.refreshToken);
    expect(r2.statusCode).toBe(200);
  });

  it('reuse of a rotated refresh token ends the whole session family', async () => {
    const a = await signup(t.app);
    const next = (await refresh(a.refreshToken)).json().data;
    const replay = await refresh(a.refreshToken);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(replay.json().error).toContain('already used');
    expect((await refresh(next.refreshToken)).statusCode).toBe(401);
    expect((await me(next.accessToken)).statusCode).toBe(401);
    expect((await me(a.accessToken)).statusCode).toBe(401);
    const entries = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('audit_logs').select('action').execute());
    expect(entries.map((e) => e.action)).toContain('auth.refresh_token_reuse');
  });

  it('reuse ends only that family: another sign-in of the same user keeps working', async () => {
    const a = await signup(t.app);
    const other = (await login({ tenant: a.slug, email: a.email, password: a.password })).json().data;
    await refresh(a.refreshToken);
    await refresh(a.refreshToken);
    expect((await me(other.accessToken)).statusCode).toBe(200);
  });

  it('accepts the refresh token from the cookie', async () => {
    const a = await signup(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { keyhold_refresh: a.refreshToken } });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('logout ends the session: its access and refresh tokens stop working', async () => {
    const a = await signup(t.app);
    const out = await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(a.accessToken) });
    expect(out.statusCode).toBe(200);
    expect((await me(a.accessToken)).statusCode).toBe(401);
    expect((await refresh(a.refreshToken)).statusCode).toBe(401);
  });

  it("lists the caller's sessions and ends one; another user's session id is 404", async () => {
    const a = await signup(t.app);
    const second = (await login({ tenant: a.slug, email: a.email, password: a.password })).json().data;
    const list = (await t.app.inject({ method: 'GET', url: '/api/auth/sessions', headers: bearer(a.accessToken) })).json().data;
    expect(list).toHaveLength(2);
    expect(list.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const otherId = list.find((s: { current: boolean }) => !s.current).id;
    const b = await signup(t.app);
    const foreign = await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${otherId}`, headers: bearer(b.accessToken) });
    expect(foreign.statusCode).toBe(404);
    const del = await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${otherId}`, headers: bearer(a.accessToken) });
    expect(del.statusCode).toBe(200);
    expect((await me(second.accessToken)).statusCode).toBe(401);
    expect((await me(a.accessToken)).statusCode).toBe(200);
  });
});
