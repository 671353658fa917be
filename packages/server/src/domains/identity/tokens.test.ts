import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { TEST_KEYS, testApp } from '../../test-support/index.js';
import { STRONG_PASSWORD, bearer, freshIp, signup } from '../../test-support/accounts.js';
import { createTokenSigner } from './tokens.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const get = (url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

/**
 * Re-signs a genuine token's claims with the real key, keeping only the time claims asked for —
 * what someone holding a leaked signing key, or a buggy issuer, could mint.
 */
async function resign(token: string, key: Uint8Array, keep: { exp: boolean; iat: boolean }) {
  const { exp, iat, iss, aud, ...claims } = decodeJwt(token);
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer(iss!).setAudience(aud!);
  if (keep.exp) jwt = jwt.setExpirationTime(exp!);
  if (keep.iat) jwt = jwt.setIssuedAt(iat!);
  return jwt.sign(key);
}

async function expectTimeClaimsRequired(url: string, token: string, key: Uint8Array) {
  // The control: the same claims re-signed with both time claims are accepted, so a refusal
  // below can only come from the missing claim.
  expect((await get(url, await resign(token, key, { exp: true, iat: true }))).statusCode).toBe(200);
  for (const keep of [{ exp: false, iat: true }, { exp: true, iat: false }, { exp: false, iat: false }]) {
    const res = await get(url, await resign(token, key, keep));
    expect(res.statusCode, JSON.stringify(keep)).toBe(401);
    expect(res.json().code).toBe('TOKEN_INVALID');
  }
}

describe('JWT time claims', () => {
  it('a tenant access token signed with the real key but without exp or iat is refused', async () => {
    const acct = await signup(t.app);
    await expectTimeClaimsRequired('/api/auth/me', acct.accessToken, TEST_KEYS.tenantKey);
  });

  it('a platform admin token signed with the real key but without exp or iat is refused', async () => {
    const email = `ops-${Date.now()}-${Math.random().toString(36).slice(2, 6)}@keyhold.example`;
    const password = STRONG_PASSWORD();
    await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role: 'ADMIN', password });
    const login = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password }, remoteAddress: freshIp() });
    expect(login.statusCode, login.body).toBe(200);
    await expectTimeClaimsRequired('/api/admin/auth/me', login.json().data.accessToken, TEST_KEYS.platformKey);
  });

  it('an MFA token without exp or iat is refused, in both realms', async () => {
    for (const [realm, key] of [['tenant', TEST_KEYS.tenantKey], ['platform', TEST_KEYS.platformKey]] as const) {
      const signer = createTokenSigner(realm, key, t.clock);
      const genuine = await signer.signMfa({ sub: crypto.randomUUID(), ...(realm === 'tenant' ? { tid: crypto.randomUUID() } : {}) });
      await expect(signer.verifyMfa(await resign(genuine, key, { exp: true, iat: true }))).resolves.toMatchObject({ typ: 'mfa' });
      await expect(signer.verifyMfa(await resign(genuine, key, { exp: false, iat: true }))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(signer.verifyMfa(await resign(genuine, key, { exp: true, iat: false }))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    }
  });

  it('a token whose exp lies beyond its type\'s lifetime is refused once that lifetime has passed', async () => {
    const acct = await signup(t.app);
    const { exp: _exp, iat, iss, aud, ...claims } = decodeJwt(acct.accessToken);
    const longLived = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer(iss!).setAudience(aud!)
      .setIssuedAt(iat!).setExpirationTime(iat! + 365 * 86_400).sign(TEST_KEYS.tenantKey);
    t.clock.advance(16 * 60_000);
    const res = await get('/api/auth/me', longLived);
    expect(res.statusCode).toBe(401);
  });
});
