import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { type Account, bearer } from './accounts.js';
import { credentialsFor } from './credentials.js';
import type { oauthHarness } from './oauth.js';

type Harness = Awaited<ReturnType<typeof oauthHarness>>;

/** A Shopify store of the tenant (custom-app token), grown to `orders` orders and `products` products. */
export async function shopifyStore(h: Harness, acct: Account, o: { label: string; orders?: number; products?: number }) {
  const store = `commerce-${randomBytes(5).toString('hex')}.myshopify.com`;
  const token = `shpat_${randomBytes(12).toString('hex')}`;
  h.sandbox.seed('shopify', { accessToken: token, storeDomain: store });
  if (o.orders) h.sandbox.shopifyOrders.grow(store, o.orders);
  if (o.products) h.sandbox.shopifyCatalog.grow(store, o.products);
  const res = await h.t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: 'shopify', apiKey: token, label: o.label, additionalConfig: { storeDomain: store } },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return { store, connectionId: res.json().data.id as string };
}

/** An Amazon seller of the UK marketplace connected through the sandbox's consent, as a browser would. */
export async function amazonSeller(h: Harness, acct: Account, marketplaceId = 'A1F83G8C2ARO7P') {
  const account = `seller-${crypto.randomUUID()}`;
  const res = await h.t.app.inject({ method: 'GET', url: `/api/integrations/amazon-sp-api/authorize?${new URLSearchParams({ marketplaceId })}`, headers: bearer(acct.accessToken) });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const consent = new URL(res.json().data.authUrl);
  consent.searchParams.set('sandbox_account', account);
  const back = await fetch(consent, { redirect: 'manual' });
  const callback = new URL(back.headers.get('location')!);
  const done = await h.t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie } });
  expect(done.statusCode, done.body).toBe(302);
  const row = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').select('id').where('provider', '=', 'amazon-sp-api').orderBy('created_at', 'desc').executeTakeFirstOrThrow());
  return { account, connectionId: row.id };
}

/** An Unleashed account of the tenant (API id + key). */
export async function unleashedAccount(h: Harness, acct: Account) {
  const { body, seed } = credentialsFor('unleashed');
  h.sandbox.seed('unleashed', seed);
  const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'unleashed', ...body } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return { apiId: seed.apiId!, connectionId: res.json().data.id as string };
}
