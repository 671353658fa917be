import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, createApiKey, enrolMfa, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { expectStep } from '../../test-support/events.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * Every path that changes a connection, driven as users and Keyhold's own machinery drive it:
 * each writes exactly its connection event(s) and the matching outbox event(s), in the
 * transaction that wrote the connection (same xmin), never one without the other.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const call = (acct: Account, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}) =>
  h.t.app.inject({ method, url, headers: { ...bearer(acct.accessToken), ...headers }, ...(payload ? { payload } : {}) });
/** A new access token after the test clock moved past the old one's 15 minutes. */
async function renew(acct: Account) {
  const res = await h.t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: acct.refreshToken } });
  Object.assign(acct, { accessToken: res.json().data.accessToken, refreshToken: res.json().data.refreshToken });
}
const ok = async (res: Promise<{ statusCode: number; body: string }>, status = 200) => {
  const r = await res;
  expect(r.statusCode, r.body).toBe(status);
  return r;
};

describe('every status change path records one connection event and one outbox event, atomically', () => {
  it('credentials API: create, disable, enable, test (degraded, recovered, rejected), rotate, config edit, proxy health, delete', async () => {
    const acct = await signup(h.t.app);
    const code = await enrolMfa(h.t.app, h.t.clock, acct);
    const step = <T>(reasons: Parameters<typeof expectStep>[1], fn: () => Promise<T>) => expectStep(acct.tenantId, reasons, fn);
    const { body, seed } = credentialsFor('stripe');
    h.sandbox.seed('stripe', seed);

    const created = await step(['connected'], () => ok(call(acct, 'POST', '/api/api-credentials', { serviceName: 'stripe', ...body }), 201));
    const id = JSON.parse(created.body).data.id as string;
    const url = `/api/api-credentials/${id}`;
    await step(['disabled'], () => ok(call(acct, 'PUT', url, { isActive: false })));
    await step([], () => ok(call(acct, 'PUT', url, { isActive: false }))); // already disabled: nothing happened
    await step(['enabled'], () => ok(call(acct, 'PUT', url, { isActive: true })));

    h.sandbox.fail('stripe', { status: 503, times: 1 });
    await step(['degraded'], () => ok(call(acct, 'POST', `${url}/test`), 502));
    await step(['recovered'], () => ok(call(acct, 'POST', `${url}/test`)));

    const unknownKey = `sk_test_${crypto.randomUUID().replaceAll('-', '')}`;
    await step(['rotated'], async () => ok(call(acct, 'PUT', `${url}?verify=false`, { apiKey: unknownKey }, { 'x-mfa-code': await code() })));
    await step(['verification_failed'], () => ok(call(acct, 'POST', `${url}/test`), 422));
    expect(JSON.parse((await call(acct, 'GET', url)).body).data.status).toBe('error');
    // A verified rotation heals it in the same event.
    await step(['rotated'], async () => ok(call(acct, 'PUT', url, { apiKey: seed.apiKey }, { 'x-mfa-code': await code() })));
    expect(JSON.parse((await call(acct, 'GET', url)).body).data.status).toBe('active');

    await step(['degraded'], () => h.t.services.connections.setHealth(acct.tenantId, id, false));
    await step(['recovered'], () => h.t.services.connections.setHealth(acct.tenantId, id, true));

    const resend = credentialsFor('resend');
    h.sandbox.seed('resend', resend.seed);
    const r = await step(['connected'], () => ok(call(acct, 'POST', '/api/api-credentials', { serviceName: 'resend', ...resend.body }), 201));
    await step(['updated'], () => ok(call(acct, 'PUT', `/api/api-credentials/${JSON.parse(r.body).data.id}`, { additionalConfig: { fromName: 'Billing' } })));

    await step(['deleted'], async () => ok(call(acct, 'DELETE', url, undefined, { 'x-mfa-code': await code() })));
  });

  it('OAuth: connect, reconnect, choose, refresh (needs_reauth, failures, degraded, recovered), disconnect', async () => {
    const acct = await signup(h.t.app);
    const code = await enrolMfa(h.t.app, h.t.clock, acct);
    const step = <T>(reasons: Parameters<typeof expectStep>[1], fn: () => Promise<T>) => expectStep(acct.tenantId, reasons, fn);
    const account = `acct-${crypto.randomUUID()}`;
    const connect = async (o: Parameters<typeof h.connect>[2] = {}) => {
      const res = await h.connect(acct, 'xero', { consent: { sandbox_account: account }, ...o });
      expect(res.statusCode, res.body).toBe(302);
      return res;
    };
    await step(['connected'], () => connect());
    await step(['reconnected'], () => connect());
    const several = await step([], () => connect({ label: 'orgs', consent: { sandbox_account: `many-${crypto.randomUUID()}`, sandbox_count: '2' } }));
    const pending = new URL(several.headers.location as string, 'http://x').searchParams.get('pending')!;
    const choices = JSON.parse((await call(acct, 'GET', `/api/integrations/pending/${pending}`)).body).data.choices;
    await step(['connected'], () => ok(call(acct, 'POST', `/api/integrations/pending/${pending}/select`, { choiceId: choices[0].id }), 201));

    const key = (await createApiKey(h.t.app, h.t.clock, acct, { name: 'sdk', scopes: ['credentials:read'] })).key;
    const read = () => h.t.app.inject({ method: 'GET', url: '/api/connections/xero/credentials', headers: bearer(key) });

    h.sandbox.oauth.revoke('xero', { account });
    h.t.clock.advance(1700_000);
    await step(['needs_reauth'], async () => expect((await read()).json().code).toBe('INTEGRATION_NEEDS_REAUTH'));
    await renew(acct);
    await step(['reconnected'], () => connect());

    h.sandbox.fail('xero', { status: 503, path: '/connect/token' });
    try {
      h.t.clock.advance(1600_000);
      await step(['refresh_failed'], async () => expect((await read()).statusCode).toBe(200));
      h.t.clock.advance(45_000);
      await step(['refresh_failed'], () => read());
      h.t.clock.advance(90_000);
      await step(['degraded'], () => read());
    } finally {
      h.sandbox.heal('xero');
    }
    h.t.clock.advance(30 * 60_000);
    await step(['recovered'], async () => expect((await read()).statusCode).toBe(200));

    const id = JSON.parse((await read()).body).data.id as string;
    await renew(acct);
    await step(['disconnected'], async () => ok(call(acct, 'POST', `/api/integrations/${id}/disconnect`, undefined, { 'x-mfa-code': await code() })));
  });
});
