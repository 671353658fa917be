import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * A key the provider recognises but limits to part of its API (the catalog's
 * `verify.restrictedWhen`) is valid: Resend's "sending access" keys may only send email, and its
 * verify request (`GET /domains`) answers them 401 `restricted_api_key`.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
  // Resend allows 5 requests a second; these tests use one key several times in quick succession.
  h.sandbox.limits.configure('resend', { windows: [{ name: 'second', limit: 100, windowMs: 1000 }] });
});
afterAll(() => h.close());

const save = (acct: Account, payload: object) => h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload });
const sendingKey = () => {
  const { body, seed } = credentialsFor('resend');
  h.sandbox.seed('resend', { ...seed, permission: 'sending_access' });
  return body;
};

describe('a send-only key is valid but restricted', () => {
  it('saving a Resend sending-access key succeeds, verified and reported as restricted', async () => {
    const acct = await signup(h.t.app);
    const res = await save(acct, { serviceName: 'resend', ...sendingKey() });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().data).toMatchObject({ verified: true, status: 'active' });
    expect(res.json().data.restricted).toMatch(/sending-access key/);
    expect(res.json().data.last_verified).not.toBeNull();
    // The verify request was refused as restricted, as Resend does.
    const seen = h.sandbox.requests().filter((r) => r.provider === 'resend').at(-1)!;
    expect([seen.path, seen.status]).toEqual(['/domains', 401]);
  });

  it('a full-access key is verified without the restriction note', async () => {
    const acct = await signup(h.t.app);
    const { body, seed } = credentialsFor('resend');
    h.sandbox.seed('resend', { ...seed, permission: 'full_access' });
    const res = await save(acct, { serviceName: 'resend', ...body });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().data.verified).toBe(true);
    expect(res.json().data).not.toHaveProperty('restricted');
  });

  it('test-connection says the key works and what it cannot do; a saved one stays active', async () => {
    const acct = await signup(h.t.app);
    const body = sendingKey();
    const tested = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials/test-connection', headers: bearer(acct.accessToken), payload: { serviceName: 'resend', ...body } });
    expect(tested.statusCode, tested.body).toBe(200);
    expect(tested.json().data.restricted).toMatch(/can send email/);
    expect(tested.json().message).toMatch(/restricted/);
    const id = (await save(acct, { serviceName: 'resend', ...body })).json().data.id;
    const again = await h.t.app.inject({ method: 'POST', url: `/api/api-credentials/${id}/test`, headers: bearer(acct.accessToken) });
    expect(again.statusCode, again.body).toBe(200);
    const stored = (await h.t.app.inject({ method: 'GET', url: `/api/api-credentials/${id}`, headers: bearer(acct.accessToken) })).json().data;
    expect(stored.status).toBe('active');
  });

  it('an unknown key is still refused (422) and nothing is saved', async () => {
    const acct = await signup(h.t.app);
    const key = `re_${crypto.randomUUID().replaceAll('-', '')}`; // never seeded
    const res = await save(acct, { serviceName: 'resend', apiKey: key });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().code).toBe('CONNECTION_TEST_FAILED');
    expect(res.body).not.toContain(key);
    const list = await h.t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(acct.accessToken) });
    expect(list.json().data).toEqual([]);
  });

  it('a 401 that is not the restriction (another error name) is a rejection, not a pass', async () => {
    const acct = await signup(h.t.app);
    h.sandbox.fail('resend', { status: 401, times: 1, path: '/domains' }); // body: { error: 'injected failure' }
    const res = await save(acct, { serviceName: 'resend', ...credentialsFor('resend').body });
    expect(res.statusCode, res.body).toBe(422);
  });
});
