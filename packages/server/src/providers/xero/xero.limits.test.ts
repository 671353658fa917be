import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * Xero's daily limit per organisation depends on the app's tier (1,000 reported for Starter,
 * 5,000 above). Keyhold budgets 5,000 and follows X-DayLimit-Remaining, so an app on a smaller
 * tier stops being called when Xero says the day is used up, before Xero's own 429s.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
});
afterAll(() => h.close());

describe('Xero daily limit', () => {
  it("follows X-DayLimit-Remaining: when the organisation's day runs out (a smaller tier), Keyhold stops sending", async () => {
    const acct = await signup(h.t.app);
    const name = `acct-${crypto.randomUUID()}`;
    expect((await h.connect(acct, 'xero', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    h.sandbox.limits.configure('xero', { windows: [{ name: 'minute', limit: 60, windowMs: 60_000 }, { name: 'day', limit: 3, windowMs: 86_400_000 }] });
    try {
      const org = h.sandbox.oauth.accountIds('xero', name).xeroTenantId;
      const reached = () => h.sandbox.requests().filter((r) => r.path.startsWith('/api.xro/') && r.headers['xero-tenant-id'] === org);
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        const res = await h.t.app.inject({ method: 'GET', url: '/api/proxy/xero/api.xro/2.0/Invoices', headers: bearer(acct.accessToken) });
        statuses.push(res.statusCode);
        if (res.statusCode === 429) expect(res.json().code).toBe('RATE_LIMITED');
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(reached().map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      h.sandbox.limits.reset();
    }
  });

  it('takes the daily figure from the connection (dailyLimit, the app tier) instead of the catalog 5,000', async () => {
    const acct = await signup(h.t.app);
    const name = `acct-${crypto.randomUUID()}`;
    expect((await h.connect(acct, 'xero', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    const list = await h.t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(acct.accessToken) });
    const id = (list.json().data as Array<{ id: string; service_name: string }>).find((c) => c.service_name === 'xero')!.id;
    const bad = await h.t.app.inject({ method: 'PUT', url: `/api/api-credentials/${id}`, headers: bearer(acct.accessToken), payload: { additionalConfig: { dailyLimit: 'lots' } } });
    expect(bad.statusCode).toBe(400);
    const set = await h.t.app.inject({ method: 'PUT', url: `/api/api-credentials/${id}`, headers: bearer(acct.accessToken), payload: { additionalConfig: { dailyLimit: '10' } } });
    expect(set.statusCode).toBe(200);
    const org = h.sandbox.oauth.accountIds('xero', name).xeroTenantId;
    const statuses = [];
    // 10 a day: a burst of 2 (20 %), then one call about every 2.7 hours.
    for (let i = 0; i < 3; i++) statuses.push((await h.t.app.inject({ method: 'GET', url: '/api/proxy/xero/api.xro/2.0/Invoices', headers: bearer(acct.accessToken) })).statusCode);
    expect(statuses).toEqual([200, 200, 429]);
    expect(h.sandbox.requests().filter((r) => r.path.startsWith('/api.xro/') && r.headers['xero-tenant-id'] === org)).toHaveLength(2);
  });
});
