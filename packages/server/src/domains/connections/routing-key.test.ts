import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, enrolMfa, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * One provider account belongs to one tenant, whichever way it was connected: the routing key
 * (the account id inbound webhooks are routed by) is derived from the catalog on the credentials
 * API as on OAuth, and a second claim is 409 ACCOUNT_ALREADY_CONNECTED.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const shop = () => `store-${crypto.randomUUID().slice(0, 8)}.myshopify.com`;
const token = () => `shpat_${crypto.randomUUID().replaceAll('-', '')}`;
const create = (acct: Account, storeDomain: string, label = 'default') =>
  h.t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', label, apiKey: token(), additionalConfig: { storeDomain } } });
const routingKey = async (acct: Account, id: string) =>
  (await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').select('routing_key').where('id', '=', id).executeTakeFirst()))?.routing_key;

describe('routing key on the credentials API', () => {
  it('a Shopify connection saved by the credentials API holds its store domain as routing key', async () => {
    const acct = await signup(h.t.app);
    const domain = shop();
    const res = await create(acct, domain);
    expect(res.statusCode, res.body).toBe(201);
    expect(await routingKey(acct, res.json().data.id)).toBe(domain);
    // A provider whose catalog entry names no account field holds none.
    const stripe = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'stripe', apiKey: `sk_test_${crypto.randomUUID().replaceAll('-', '')}` } });
    expect(await routingKey(acct, stripe.json().data.id)).toBeNull();
  });

  it("another tenant cannot claim the same store, in any letter case, nor move its own connection onto it; deleting frees it", async () => {
    const [a, b] = [await signup(h.t.app), await signup(h.t.app)];
    const domain = shop();
    const first = await create(a, domain);
    expect(first.statusCode).toBe(201);
    for (const claim of [domain, domain.replace(/^[^.]+/, (m) => m.toUpperCase())]) {
      const res = await create(b, claim);
      expect([res.statusCode, res.json().code], claim).toEqual([409, 'ACCOUNT_ALREADY_CONNECTED']);
      expect(res.body).not.toContain(a.tenantId);
    }
    // Also not from the same tenant under a second label.
    expect((await create(a, domain, 'second')).json().code).toBe('ACCOUNT_ALREADY_CONNECTED');

    const own = await create(b, shop());
    expect(own.statusCode).toBe(201);
    const code = await enrolMfa(h.t.app, h.t.clock, b);
    const move = await h.t.app.inject({
      method: 'PUT', url: `/api/api-credentials/${own.json().data.id}?verify=false`, headers: { ...bearer(b.accessToken), 'x-mfa-code': await code() },
      payload: { additionalConfig: { storeDomain: domain } },
    });
    expect([move.statusCode, move.json().code]).toEqual([409, 'ACCOUNT_ALREADY_CONNECTED']);
    expect(await routingKey(b, own.json().data.id)).toBe(own.json().data.config.storeDomain); // nothing half-written

    const codeA = await enrolMfa(h.t.app, h.t.clock, a);
    const del = await h.t.app.inject({ method: 'DELETE', url: `/api/api-credentials/${first.json().data.id}`, headers: { ...bearer(a.accessToken), 'x-mfa-code': await codeA() } });
    expect(del.statusCode, del.body).toBe(200);
    expect((await create(b, domain, 'taken-over')).statusCode).toBe(201);
  });

  it('a burst of tenants claiming one store at once: exactly one gets it', async () => {
    const tenants = await Promise.all(Array.from({ length: 8 }, () => signup(h.t.app)));
    const domain = shop();
    const answers = await Promise.all(tenants.map((t) => create(t, domain)));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, ...Array(7).fill(409)]);
    expect(answers.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'ACCOUNT_ALREADY_CONNECTED')).toBe(true);
  });

  it('an account connected by OAuth in one tenant is refused to the credentials API of another, and the reverse', async () => {
    const [a, b] = [await signup(h.t.app), await signup(h.t.app)];
    const domain = shop();
    h.sandbox.seed('shopify', { accessToken: token(), storeDomain: domain });
    const connected = await h.connect(a, 'shopify', { shop: domain });
    expect(connected.statusCode, connected.body).toBe(302);
    expect((await create(b, domain)).json().code).toBe('ACCOUNT_ALREADY_CONNECTED');

    const other = shop();
    expect((await create(b, other)).statusCode).toBe(201);
    const res = await h.connect(a, 'shopify', { shop: other, label: 'second' });
    expect(res.json().code).toBe('ACCOUNT_ALREADY_CONNECTED');
  });
});
