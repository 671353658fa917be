import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { type TestApp, useTestApp } from '../../test-support/index.js';
import { type Account, STRONG_PASSWORD, bearer, freshIp, signup, totpAt } from '../../test-support/accounts.js';
import { randomUUID } from 'node:crypto';
import { sha256 } from './tokens.js';

// Brute-force limits under parallel bursts. A 401 means the credential was checked (argon2 or
// TOTP) and found wrong; a 429 means it was refused unchecked. So the number of non-429 answers is
// the number of guesses an attacker got evaluated.

let t: TestApp;
let app: FastifyInstance;
useTestApp((started) => ((t = started), (app = started.app)));

const WINDOW = 15 * 60_000;
const login = (body: object, ip = freshIp()) => app.inject({ method: 'POST', url: '/api/auth/login', payload: body, remoteAddress: ip });
const adminLogin = (body: object, ip = freshIp()) => app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: body, remoteAddress: ip });
const post = (url: string, token: string, payload?: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(token), ...headers }, ...(payload ? { payload } : {}) });

/** Fires `n` requests at once; returns how many got each status. */
async function burst(n: number, send: (i: number) => Promise<{ statusCode: number }>) {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
  const count: Record<number, number> = {};
  for (const a of answers) count[a.statusCode] = (count[a.statusCode] ?? 0) + 1;
  return count;
}

/** The failures Postgres holds for a limiter key (stored hashed, like the limiter does). */
async function storedFailures(key: string) {
  const row = await t.db.kysely.selectFrom('auth_attempts').select('failures').where('key_hash', '=', sha256(`attempts:${key}`)).executeTakeFirst();
  return row?.failures;
}

/** `n` six-digit codes, none of them valid now (±1 step), so every one is a wrong guess. */
async function wrongCodes(secret: string, n: number) {
  const now = t.clock().getTime();
  const valid = new Set(await Promise.all([-30_000, 0, 30_000].map((d) => totpAt(secret, new Date(now + d)))));
  const codes: string[] = [];
  for (let i = 0; codes.length < n; i++) if (!valid.has(String(i).padStart(6, '0'))) codes.push(String(i).padStart(6, '0'));
  return codes;
}

async function enrolledUser(): Promise<{ acct: Account; secret: string }> {
  const acct = await signup(app);
  const { secret } = (await post('/api/auth/mfa/setup', acct.accessToken)).json().data;
  expect((await post('/api/auth/mfa/enable', acct.accessToken, { code: await totpAt(secret, t.clock()) })).statusCode).toBe(200);
  t.clock.advance(30_000);
  return { acct, secret };
}

async function platformAdmin(opts: { mfa?: boolean } = {}) {
  const email = `burst-${Math.random().toString(36).slice(2, 10)}@keyhold.example`;
  const password = STRONG_PASSWORD();
  await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role: 'SUPPORT', password });
  if (!opts.mfa) return { email, password, secret: '' };
  const token = (await adminLogin({ email, password })).json().data.accessToken as string;
  const { secret } = (await post('/api/admin/auth/mfa/setup', token)).json().data;
  expect((await post('/api/admin/auth/mfa/enable', token, { code: await totpAt(secret, t.clock()) })).statusCode).toBe(200);
  t.clock.advance(30_000);
  return { email, password, secret };
}

describe('tenant sign-in under parallel bursts', () => {
  it('60 parallel wrong passwords on one account: 10 are checked, 50 refused; then even the right password waits for the window', async () => {
    const victim = await signup(app);
    const counts = await burst(60, (i) => login({ tenant: victim.slug, email: victim.email, password: `wrong-password-${i}` }));
    expect(counts).toEqual({ 401: 10, 429: 50 });
    const blocked = await login({ tenant: victim.slug, email: victim.email, password: victim.password });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    t.clock.advance(WINDOW + 1000);
    expect((await login({ tenant: victim.slug, email: victim.email, password: victim.password })).statusCode).toBe(200);
  });

  it('250 parallel wrong sign-ins from one address across accounts: 100 are checked', async () => {
    const ip = freshIp();
    const counts = await burst(250, (i) => login({ tenant: 'no-such-tenant-zz', email: `spray${i}@example.com`, password: 'wrong-password-123' }, ip));
    expect(counts).toEqual({ 401: 100, 429: 150 });
  }, 60_000);

  it('300 parallel wrong codes on one MFA token from one address: 10 are checked, and only those count against the address', async () => {
    const { acct, secret } = await enrolledUser();
    const mfaToken = (await login({ tenant: acct.slug, email: acct.email, password: acct.password })).json().data.mfaToken as string;
    const codes = await wrongCodes(secret, 300);
    const ip = freshIp();
    const counts = await burst(300, (i) => app.inject({ method: 'POST', url: '/api/auth/mfa/verify', payload: { mfaToken, code: codes[i] }, remoteAddress: ip }));
    expect(counts).toEqual({ 401: 10, 429: 290 });
    expect(await storedFailures(`ip:${ip}`)).toBe(10);
    expect(await storedFailures(`mfa:user:${acct.userId}`)).toBe(10);
    expect((await app.inject({ method: 'POST', url: '/api/auth/mfa/verify', payload: { mfaToken, code: await totpAt(secret, t.clock()) }, remoteAddress: freshIp() })).statusCode).toBe(429);
  });

  it('300 parallel wrong step-up codes: 10 are checked', async () => {
    const { acct, secret } = await enrolledUser();
    const codes = await wrongCodes(secret, 300);
    const counts = await burst(300, (i) => post(`/api/integrations/${randomUUID()}/disconnect`, acct.accessToken, undefined, { 'x-mfa-code': codes[i]! }));
    expect(counts).toEqual({ 403: 10, 429: 290 });
  });
});

describe('platform-admin sign-in under parallel bursts', () => {
  it('60 parallel wrong passwords on one admin: 10 are checked; the right one waits for the window', async () => {
    const admin = await platformAdmin();
    const counts = await burst(60, (i) => adminLogin({ email: admin.email, password: `wrong-password-${i}` }));
    expect(counts).toEqual({ 401: 10, 429: 50 });
    expect((await adminLogin({ email: admin.email, password: admin.password })).statusCode).toBe(429);
    t.clock.advance(WINDOW + 1000);
    expect((await adminLogin({ email: admin.email, password: admin.password })).statusCode).toBe(200);
  });

  it('300 parallel wrong codes on one admin MFA token: 10 are checked', async () => {
    const admin = await platformAdmin({ mfa: true });
    const mfaToken = (await adminLogin({ email: admin.email, password: admin.password })).json().data.mfaToken as string;
    expect(mfaToken).toBeTruthy();
    const codes = await wrongCodes(admin.secret, 300);
    const counts = await burst(300, (i) => app.inject({ method: 'POST', url: '/api/admin/auth/mfa/verify', payload: { mfaToken, code: codes[i] }, remoteAddress: freshIp() }));
    expect(counts).toEqual({ 401: 10, 429: 290 });
  });
});
