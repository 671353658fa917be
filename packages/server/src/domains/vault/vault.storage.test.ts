import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { STRONG_PASSWORD, bearer, freshIp, signup, totpAt } from '../../test-support/accounts.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

/** Every row of every table in the public schema, as text: what a database dump would hold. */
async function dumpAllTables(): Promise<string> {
  const c = await adminClient();
  try {
    const { rows: tables } = await c.query<{ name: string }>(`select quote_ident(tablename) as name from pg_tables where schemaname = 'public'`);
    const parts: string[] = [];
    for (const { name } of tables) {
      const { rows } = await c.query<{ row: string }>(`select t::text as row from ${name} t`);
      parts.push(...rows.map((r) => r.row));
    }
    return parts.join('\n');
  } finally {
    await c.end();
  }
}

describe('secrets at rest', () => {
  it('no planted secret appears in any table', async () => {
    const acct = await signup(t.app);
    const planted = [acct.password, acct.refreshToken];
    const setup = (await t.app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(acct.accessToken) })).json().data;
    planted.push(setup.secret);
    const enable = (await t.app.inject({ method: 'POST', url: '/api/auth/mfa/enable', headers: bearer(acct.accessToken), payload: { code: await totpAt(setup.secret, t.clock()) } })).json().data;
    planted.push(...enable.recoveryCodes);
    const key = (await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: bearer(acct.accessToken), payload: { name: 'k', scopes: ['proxy'] } })).json().data.key;
    planted.push(key);
    const adminPassword = STRONG_PASSWORD();
    await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email: `dump-${Date.now()}@keyhold.example`, role: 'SUPPORT', password: adminPassword });
    planted.push(adminPassword);

    const dump = await dumpAllTables();
    expect(dump).toContain(acct.tenantId);
    expect(dump).toMatch(/kh1\.1\./); // the TOTP secret is there, encrypted
    for (const secret of planted) expect(dump.includes(secret), `found ${secret.slice(0, 6)}… in the database`).toBe(false);
  });

  it('moves TOTP secrets stored before the vault under it, and MFA keeps working', async () => {
    const acct = await signup(t.app);
    const setup = (await t.app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(acct.accessToken) })).json().data;
    await t.app.inject({ method: 'POST', url: '/api/auth/mfa/enable', headers: bearer(acct.accessToken), payload: { code: await totpAt(setup.secret, t.clock()) } });
    // Put the row back the way it was stored before the vault existed.
    const c = await adminClient();
    await c.query('update users set mfa_secret = $2 where id = $1', [acct.userId, setup.secret]);
    expect(await t.services.mfa.encryptLegacySecrets()).toBeGreaterThanOrEqual(1);
    expect(await t.services.mfa.encryptLegacySecrets()).toBe(0);
    const { rows } = await c.query('select mfa_secret from users where id = $1', [acct.userId]);
    await c.end();
    expect(rows[0].mfa_secret).toMatch(/^kh1\./);
    t.clock.advance(30_000);
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: acct.slug, email: acct.email, password: acct.password } });
    const verify = await t.app.inject({ method: 'POST', url: '/api/auth/mfa/verify', payload: { mfaToken: login.json().data.mfaToken, code: await totpAt(setup.secret, t.clock()) } });
    expect(verify.statusCode, verify.body).toBe(200);
  });
});
