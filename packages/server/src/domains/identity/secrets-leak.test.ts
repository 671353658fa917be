import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { bearer, freshIp, totpAt } from '../../test-support/accounts.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

describe('secrets never leak', () => {
  it('planted passwords, TOTP secrets, recovery codes, refresh tokens and API keys appear in no log line or audit entry', async () => {
    const canaryPassword = `Canary-${crypto.randomUUID()}`;
    const wrongPassword = `Wrong-${crypto.randomUUID()}`;
    const planted: string[] = [canaryPassword, wrongPassword];
    const ip = freshIp();

    const signup = await t.app.inject({ method: 'POST', url: '/api/auth/signup', remoteAddress: ip, payload: { organizationName: 'Leak Test', email: 'leak@example.com', password: canaryPassword } });
    const { accessToken, refreshToken, tenant } = signup.json().data;
    planted.push(refreshToken, accessToken);
    await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { tenant: tenant.slug, email: 'leak@example.com', password: wrongPassword } });

    const setup = (await t.app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(accessToken) })).json().data;
    planted.push(setup.secret);
    const enable = await t.app.inject({ method: 'POST', url: '/api/auth/mfa/enable', headers: bearer(accessToken), payload: { code: await totpAt(setup.secret, t.clock()) } });
    planted.push(...enable.json().data.recoveryCodes);

    const refreshed = (await t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } })).json().data;
    planted.push(refreshed.refreshToken);
    await t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } }); // reuse → revoked, logged as an error path

    const login = (await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { tenant: tenant.slug, email: 'leak@example.com', password: canaryPassword } })).json().data;
    const verified = (await t.app.inject({ method: 'POST', url: '/api/auth/mfa/verify', payload: { mfaToken: login.mfaToken, code: enable.json().data.recoveryCodes[0] } })).json().data;
    planted.push(login.mfaToken, verified.accessToken);

    const key = (await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: bearer(verified.accessToken), payload: { name: 'leak', scopes: ['audit:read'], role: 'admin' } })).json().data.key;
    planted.push(key);
    await t.app.inject({ method: 'GET', url: `/api/audit-logs?token=${key}`, headers: bearer(key) });
    await t.app.inject({ method: 'GET', url: '/api/audit-logs', headers: bearer(`${key}x`) });

    const invite = (await t.app.inject({ method: 'POST', url: '/api/users', headers: bearer(verified.accessToken), payload: { email: 'temp@example.com', method: 'temporary_password' } })).json().data;
    planted.push(invite.temporaryPassword);
    const platformKey = await t.services.apiKeys.createPlatformKey({ tenantId: null, actor: systemActor }, { name: 'leak-platform', scopes: ['audit:read'] });
    planted.push(platformKey.key);

    expect(t.logs.lines.length).toBeGreaterThan(20);
    const logText = t.logs.text();
    const admin = await adminClient();
    const { rows } = await admin.query<{ dump: string }>(`select row_to_json(a)::text as dump from audit_logs a where tenant_id = $1 or tenant_id is null`, [tenant.id]);
    await admin.end();
    const auditText = rows.map((r) => r.dump).join('\n');
    expect(auditText).toContain('api_key.create');
    for (const secret of planted) {
      expect(secret, 'a planted secret is missing').toBeTruthy();
      expect(logText.includes(secret), `log leaked ${secret.slice(0, 6)}…`).toBe(false);
      expect(auditText.includes(secret), `audit leaked ${secret.slice(0, 6)}…`).toBe(false);
    }
  });
});
