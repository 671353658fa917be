import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { adminClient } from '../../test-support/index.js';
import { loadCatalog } from '../catalog/catalog.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * A header filled from a connection's config with a catalog default (Stripe's API version): the
 * version is pinned per connection when it is saved, sent on every call, and a client that names
 * its own version keeps it. Without it each Stripe account's default version would decide the
 * shape of the answers (https://docs.stripe.com/api-versions).
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
let pinned: string;
beforeAll(async () => {
  h = await oauthHarness();
  const field = loadCatalog().get('stripe').configFields?.find((f) => f.name === 'apiVersion');
  pinned = (field as { default?: string } | undefined)?.default ?? 'no default in the catalog';
});
afterAll(() => h.close());

async function connectStripe(acct: Account, additionalConfig?: Record<string, string>) {
  const { body, seed } = credentialsFor('stripe');
  h.sandbox.seed('stripe', seed);
  const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'stripe', ...body, ...(additionalConfig ? { additionalConfig } : {}) } });
  return { res, key: seed.apiKey! };
}
const lastWith = (key: string) => h.sandbox.requests().filter((r) => r.provider === 'stripe' && r.headers.authorization === `Bearer ${key}`).at(-1)!;
const proxy = (acct: Account, headers: Record<string, string> = {}) =>
  h.t.app.inject({ method: 'GET', url: '/api/proxy/stripe/v1/customers', headers: { ...bearer(acct.accessToken), 'x-keyhold-max-wait': '5000', ...headers } });

describe('Stripe-Version pinned per connection', () => {
  it('the catalog pins a dated Stripe version', () => {
    expect(pinned).toMatch(/^\d{4}-\d{2}-\d{2}\.[a-z]+$/);
  });

  it('is stamped on the connection when saved, checked by the verify call, and sent on proxied calls', async () => {
    const acct = await signup(h.t.app);
    const { res, key } = await connectStripe(acct);
    expect(res.statusCode, res.body).toBe(201);
    expect(lastWith(key).headers['stripe-version']).toBe(pinned); // the verify request
    const c = await adminClient();
    try {
      const { rows } = await c.query("select config from connections where tenant_id = $1 and provider = 'stripe'", [acct.tenantId]);
      expect(rows[0].config).toMatchObject({ apiVersion: pinned });
    } finally {
      await c.end();
    }
    const call = await proxy(acct);
    expect(call.statusCode, call.body).toBe(200);
    expect(lastWith(key).headers['stripe-version']).toBe(pinned);
    expect(call.headers['stripe-version']).toBe(pinned); // Stripe names the version it answered in
  });

  it("keeps a client's own Stripe-Version (an official SDK pins the one it speaks)", async () => {
    const acct = await signup(h.t.app);
    const { key } = await connectStripe(acct);
    const call = await proxy(acct, { 'stripe-version': '2025-03-31.basil' });
    expect(call.statusCode, call.body).toBe(200);
    expect(lastWith(key).headers['stripe-version']).toBe('2025-03-31.basil');
  });

  it('a tenant may pin another version; a malformed one is refused before any call, an unknown one by the verify call', async () => {
    const acct = await signup(h.t.app);
    const { res, key } = await connectStripe(acct, { apiVersion: '2025-09-30.clover' });
    expect(res.statusCode, res.body).toBe(201);
    await proxy(acct);
    expect(lastWith(key).headers['stripe-version']).toBe('2025-09-30.clover');
    const other = await signup(h.t.app);
    const malformed = await connectStripe(other, { apiVersion: 'latest' });
    expect([malformed.res.statusCode, malformed.res.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(malformed.res.json().error).toContain('additionalConfig.apiVersion');
    const unknown = await connectStripe(other, { apiVersion: '2099-01-01.zinnia' });
    expect(unknown.res.statusCode).toBeGreaterThanOrEqual(400);
    expect(lastWith(unknown.key).status).toBe(400); // Stripe: "Invalid Stripe API version"
  });
});
