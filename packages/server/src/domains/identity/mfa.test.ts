import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { type TestApp, useTestApp } from '../../test-support/index.js';
import { randomUUID } from 'node:crypto';
import { type Account, bearer, freshIp, signup, totpAt } from '../../test-support/accounts.js';

let t: TestApp;
let app: FastifyInstance;
useTestApp((started) => ((t = started), (app = started.app)));

const STEP = 30_000;
/** A step-up route (disconnect); past the MFA check it answers 404 for this unknown connection. */
const sensitive = () => `/api/integrations/${randomUUID()}/disconnect`;
const post = (url: string, token: string, payload?: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(token), ...headers }, ...(payload ? { payload } : {}) });

/** Signs up and enrols MFA; returns the account, its TOTP secret and recovery codes. */
async function enrolled(): Promise<{ acct: Account; secret: string; recoveryCodes: string[] }> {
  const acct = await signup(app);
  const setup = (await post('/api/auth/mfa/setup', acct.accessToken)).json().data;
  expect(setup.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Keyhold:.*secret=/);
  const enable = await post('/api/auth/mfa/enable', acct.accessToken, { code: await totpAt(setup.secret, t.clock()) });
  expect(enable.statusCode, enable.body).toBe(200);
  t.clock.advance(STEP); // the enrolment code's step is spent
  return { acct, secret: setup.secret, recoveryCodes: enable.json().data.recoveryCodes };
}

async function mfaChallenge(acct: Account) {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: acct.slug, email: acct.email, password: acct.password }, remoteAddress: freshIp() });
  expect(res.json().data).toMatchObject({ mfaRequired: true });
  expect(res.json().data.accessToken).toBeUndefined();
  return res.json().data.mfaToken as string;
}
const verify = (mfaToken: string, code: string) => app.inject({ method: 'POST', url: '/api/auth/mfa/verify', payload: { mfaToken, code }, remoteAddress: freshIp() });

describe('TOTP enrolment and sign-in', () => {
  it('refuses to enable with a wrong code and gives 10 recovery codes with a right one', async () => {
    const acct = await signup(app);
    const setup = (await post('/api/auth/mfa/setup', acct.accessToken)).json().data;
    const wrong = await post('/api/auth/mfa/enable', acct.accessToken, { code: '000000' });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('MFA_REQUIRED');
    const right = await post('/api/auth/mfa/enable', acct.accessToken, { code: await totpAt(setup.secret, t.clock()) });
    expect(right.json().data.recoveryCodes).toHaveLength(10);
    expect(new Set(right.json().data.recoveryCodes).size).toBe(10);
  });

  it('signs in with password then code; a code cannot be used twice', async () => {
    const { acct, secret } = await enrolled();
    const code = await totpAt(secret, t.clock());
    const first = await verify(await mfaChallenge(acct), code);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().data.accessToken).toBeTruthy();
    const replay = await verify(await mfaChallenge(acct), code);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('INVALID_CREDENTIALS');
  });

  it('refuses a code of an earlier step once a later one was used, within the drift window', async () => {
    const { acct, secret } = await enrolled();
    const earlier = await totpAt(secret, t.clock());
    t.clock.advance(STEP);
    const later = await totpAt(secret, t.clock());
    expect((await verify(await mfaChallenge(acct), later)).statusCode).toBe(200);
    expect((await verify(await mfaChallenge(acct), earlier)).statusCode).toBe(401);
  });

  it('accepts ±1 step of clock drift but not more', async () => {
    const { acct, secret } = await enrolled();
    t.clock.advance(5 * STEP);
    const tooOld = await totpAt(secret, new Date(t.clock().getTime() - 3 * STEP));
    expect((await verify(await mfaChallenge(acct), tooOld)).statusCode).toBe(401);
    const oneBehind = await totpAt(secret, new Date(t.clock().getTime() - STEP));
    expect((await verify(await mfaChallenge(acct), oneBehind)).statusCode).toBe(200);
  });

  it('accepts each recovery code once', async () => {
    const { acct, recoveryCodes } = await enrolled();
    expect((await verify(await mfaChallenge(acct), recoveryCodes[3]!.toUpperCase())).statusCode).toBe(200);
    expect((await verify(await mfaChallenge(acct), recoveryCodes[3]!)).statusCode).toBe(401);
    expect((await verify(await mfaChallenge(acct), recoveryCodes[4]!)).statusCode).toBe(200);
  });

  it('refuses an MFA token that was tampered with or expired', async () => {
    const { acct, secret } = await enrolled();
    const token = await mfaChallenge(acct);
    const tampered = `${token.slice(0, -3)}${token.slice(-3) === 'AAA' ? 'BBB' : 'AAA'}`;
    expect((await verify(tampered, await totpAt(secret, t.clock()))).json().code).toBe('TOKEN_INVALID');
    t.clock.advance(6 * 60_000);
    expect((await verify(token, await totpAt(secret, t.clock()))).json().code).toBe('TOKEN_EXPIRED');
  });

  it('locks MFA verification after 10 wrong codes', async () => {
    const { acct, secret } = await enrolled();
    const token = await mfaChallenge(acct);
    for (let i = 0; i < 10; i++) expect((await verify(token, '000000')).statusCode).toBe(401);
    const blocked = await verify(token, await totpAt(secret, t.clock()));
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });

  it('disables MFA only with a valid code', async () => {
    const { acct, secret } = await enrolled();
    expect((await post('/api/auth/mfa/disable', acct.accessToken, { code: '123456' })).statusCode).toBe(403);
    const res = await post('/api/auth/mfa/disable', acct.accessToken, { code: await totpAt(secret, t.clock()) });
    expect(res.statusCode).toBe(200);
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: acct.slug, email: acct.email, password: acct.password }, remoteAddress: freshIp() });
    expect(login.json().data.accessToken).toBeTruthy();
  });
});

describe('step-up (X-MFA-Code)', () => {
  it('without MFA enrolled → 403 MFA_ENROLLMENT_REQUIRED', async () => {
    const acct = await signup(app);
    const res = await post(sensitive(), acct.accessToken);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('MFA_ENROLLMENT_REQUIRED');
  });

  it('missing or wrong code → 403 MFA_REQUIRED; a fresh code passes once', async () => {
    const { acct, secret } = await enrolled();
    expect((await post(sensitive(), acct.accessToken)).json().code).toBe('MFA_REQUIRED');
    expect((await post(sensitive(), acct.accessToken, undefined, { 'x-mfa-code': '111111' })).json().code).toBe('MFA_REQUIRED');
    const code = await totpAt(secret, t.clock());
    const ok = await post(sensitive(), acct.accessToken, undefined, { 'x-mfa-code': code });
    expect(ok.statusCode, ok.body).toBe(404);
    expect((await post(sensitive(), acct.accessToken, undefined, { 'x-mfa-code': code })).json().code).toBe('MFA_REQUIRED');
  });

  it('accepts a recovery code for step-up', async () => {
    const { acct, recoveryCodes } = await enrolled();
    expect((await post(sensitive(), acct.accessToken, undefined, { 'x-mfa-code': recoveryCodes[0]! })).statusCode).toBe(404);
  });
});
