import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * Saving a credential verifies it with the provider first, as a rotation does: a key the provider
 * refuses, or that cannot be checked because the provider is down, is not saved at all.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const save = (acct: Account, payload: object, query = '') =>
  h.t.app.inject({ method: 'POST', url: `/api/api-credentials${query}`, headers: bearer(acct.accessToken), payload });

/** The tenant's connections, their events and outbox events: what a save would have written. */
const written = (acct: Account) =>
  h.t.db.withTenant(acct.tenantId, async (tx) => {
    const count = async (table: 'connections' | 'connection_events' | 'events') =>
      Number((await tx.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { connections: await count('connections'), connectionEvents: await count('connection_events'), events: await count('events') };
  });
const nothing = { connections: 0, connectionEvents: 0, events: 0 };

describe('saving a credential verifies it with the provider', () => {
  it('a key the provider accepts is saved verified, with last_verified set', async () => {
    const acct = await signup(h.t.app);
    const { body, seed } = credentialsFor('stripe');
    h.sandbox.seed('stripe', seed);
    const res = await save(acct, { serviceName: 'stripe', ...body });
    expect(res.statusCode, res.body).toBe(201);
    const data = res.json().data;
    expect(data).toMatchObject({ verified: true, status: 'active' });
    expect(data.last_verified).not.toBeNull();
    const stored = (await h.t.app.inject({ method: 'GET', url: `/api/api-credentials/${data.id}`, headers: bearer(acct.accessToken) })).json().data;
    expect(stored.last_verified).toBe(data.last_verified);
    expect(stored).not.toHaveProperty('verified');
  });

  it('a key the provider refuses is 422 naming its HTTP status (never the key), and nothing is saved', async () => {
    const acct = await signup(h.t.app);
    const key = `sk_test_${crypto.randomUUID().replaceAll('-', '')}`; // never seeded: the sandbox refuses it
    const res = await save(acct, { serviceName: 'stripe', apiKey: key });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ success: false, code: 'CONNECTION_TEST_FAILED' });
    expect(res.json().error).toContain('HTTP 401');
    expect(res.body).not.toContain(key);
    expect(res.body).not.toContain(key.slice(-8));
    expect(await written(acct)).toEqual(nothing);
  });

  it('an unreachable provider is 502 INTEGRATION_UNAVAILABLE, and nothing is saved', async () => {
    const acct = await signup(h.t.app);
    const { body, seed } = credentialsFor('stripe');
    h.sandbox.seed('stripe', seed);
    h.sandbox.fail('stripe', { status: 503, times: 1 });
    const res = await save(acct, { serviceName: 'stripe', ...body });
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ success: false, code: 'INTEGRATION_UNAVAILABLE' });
    expect(res.json().error).toContain('HTTP 503');
    expect(await written(acct)).toEqual(nothing);
    // The same key saves once the provider answers again.
    expect((await save(acct, { serviceName: 'stripe', ...body })).json().data).toMatchObject({ verified: true });
  });

  it('?verify=false saves without asking the provider: verified false, last_verified null', async () => {
    const acct = await signup(h.t.app);
    const key = `sk_test_${crypto.randomUUID().replaceAll('-', '')}`;
    h.sandbox.fail('stripe', { status: 503 }); // any call to the provider would fail
    try {
      const res = await save(acct, { serviceName: 'stripe', apiKey: key }, '?verify=false');
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().data).toMatchObject({ verified: false, last_verified: null, status: 'active' });
    } finally {
      h.sandbox.heal('stripe');
    }
    expect((await written(acct)).connections).toBe(1);
  });

  it('a provider without a verify request (a custom API with no verify path) is saved unverified', async () => {
    const acct = await signup(h.t.app);
    const res = await save(acct, { serviceName: 'custom', apiKey: 'k-unverifiable', additionalConfig: { baseUrl: h.sandbox.baseUrlFor('custom'), headerName: 'X-Key', headerTemplate: '{{apiKey}}' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().data).toMatchObject({ verified: false, last_verified: null });
  });

  it('?verify accepts only true or false', async () => {
    const acct = await signup(h.t.app);
    const res = await save(acct, { serviceName: 'stripe', apiKey: 'sk_test_whatever' }, '?verify=no');
    expect(res.statusCode).toBe(400);
    expect(await written(acct)).toEqual(nothing);
  });
});
