import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';
import { consent, form } from '../test-support/oauth.js';
import { refusesNonExpiring } from './tokens.js';

let sandbox: Sandbox;
const app = { clientId: 'admin-app', clientSecret: 'shpss_admin', redirectUri: 'https://keyhold.test/api/integrations/shopify/callback' };
beforeAll(async () => {
  sandbox = await createSandbox();
  sandbox.oauth.registerApp('shopify', app);
});
afterAll(() => sandbox.close());

let n = 0;
async function expiringToken(store = `admin-${++n}-${Date.now()}.myshopify.com`) {
  const base = `${sandbox.url}/shopify/${store}`;
  const { query } = await consent(`${base}/admin/oauth/authorize?${new URLSearchParams({ client_id: app.clientId, scope: 'read_orders', redirect_uri: app.redirectUri, state: 's' })}`);
  const res = await form(`${base}/admin/oauth/access_token`, { client_id: app.clientId, client_secret: app.clientSecret, code: query.code!, expiring: '1' });
  return { store, base, token: ((await res.json()) as Record<string, string>).access_token! };
}
const get = (base: string, token: string, path: string) => fetch(`${base}${path}`, { headers: { 'x-shopify-access-token': token } });
const gql = async (base: string, token: string, query: string, variables?: Record<string, unknown>) => {
  const res = await fetch(`${base}/admin/api/2025-07/graphql.json`, { method: 'POST', headers: { 'x-shopify-access-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return { res, body: (await res.json()) as Record<string, any> };
};
const nextLink = (res: Response) => /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];

describe('expiring-token rule', () => {
  it('refuses non-expiring tokens of public apps created since 2026-04-01, and of every public app from 2027; never of custom apps', () => {
    const nov2026 = Date.parse('2026-11-27T00:00:00Z');
    expect(refusesNonExpiring(undefined, nov2026)).toBe(true); // a public app created now
    expect(refusesNonExpiring({ createdAt: '2026-04-01' }, nov2026)).toBe(true);
    expect(refusesNonExpiring({ createdAt: '2026-03-31' }, nov2026)).toBe(false);
    expect(refusesNonExpiring({ createdAt: '2026-03-31' }, Date.parse('2027-01-01T00:00:00Z'))).toBe(true);
    expect(refusesNonExpiring({ createdAt: '2026-06-01', distribution: 'custom' }, Date.parse('2027-06-01'))).toBe(false);
  });
});

describe('REST pagination', () => {
  it('pages with limit and page_info, Link headers at the store domain with next and previous', async () => {
    const { store, base, token } = await expiringToken();
    const first = await get(base, token, '/admin/api/2025-07/orders.json?limit=50');
    expect(first.headers.get('link')).toMatch(new RegExp(`^<https://${store.replace(/\./g, '\\.')}/admin/api/2025-07/orders\\.json\\?page_info=[\\w-]+&limit=50>; rel="next"$`));
    const ids: number[] = ((await first.json()) as { orders: Array<{ id: number }> }).orders.map((o) => o.id);
    let url = nextLink(first);
    let last: Response = first;
    while (url) {
      last = await get(base, token, new URL(url).pathname + new URL(url).search);
      expect(last.headers.get('link')).toContain('rel="previous"');
      ids.push(...((await last.json()) as { orders: Array<{ id: number }> }).orders.map((o) => o.id));
      url = nextLink(last);
    }
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
    const prev = /<([^>]+)>; rel="previous"/.exec(last.headers.get('link')!)![1]!;
    const back = (await (await get(base, token, new URL(prev).pathname + new URL(prev).search)).json()) as { orders: Array<{ id: number }> };
    expect(back.orders.map((o) => o.id)).toEqual(ids.slice(50, 100));
  });

  it('defaults to 50, caps limit at 250, keeps the first request\'s filters inside page_info and refuses others beside it', async () => {
    const { base, token } = await expiringToken();
    expect(((await (await get(base, token, '/admin/api/2025-07/orders.json')).json()) as { orders: unknown[] }).orders).toHaveLength(50);
    const all = await get(base, token, '/admin/api/2025-07/orders.json?limit=500');
    expect(((await all.json()) as { orders: unknown[] }).orders).toHaveLength(120);
    expect(all.headers.get('link')).toBeNull();
    const filtered = await get(base, token, '/admin/api/2025-07/orders.json?limit=10&since_id=5100');
    expect(((await filtered.json()) as { orders: Array<{ id: number }> }).orders[0]!.id).toBe(5101);
    const next = new URL(nextLink(filtered)!);
    const page2 = (await (await get(base, token, next.pathname + next.search)).json()) as { orders: Array<{ id: number }> };
    expect(page2.orders.map((o) => o.id)).toEqual([5111, 5112, 5113, 5114, 5115, 5116, 5117, 5118, 5119]);
    const mixed = await get(base, token, `${next.pathname}${next.search}&since_id=5000`);
    expect(mixed.status).toBe(400);
    expect(await mixed.json()).toEqual({ errors: { since_id: 'since_id cannot be passed when page_info is present.' } });
  });
});

describe('GraphQL Admin API', () => {
  const ORDERS = 'query Orders($first: Int!, $after: String) { orders(first: $first, after: $after) { edges { cursor node { id name totalPriceSet { shopMoney { amount currencyCode } } } } pageInfo { hasNextPage endCursor } } }';

  it('pages orders with cursors and reports the calculated cost and throttle status', async () => {
    const { base, token } = await expiringToken();
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { res, body } = await gql(base, token, ORDERS, { first: 50, after });
      expect(res.status).toBe(200);
      seen.push(...body.data.orders.edges.map((e: { node: { id: string } }) => e.node.id));
      // 2 for the connection + 50 × (1 order + 1 MoneyBag + 1 MoneyV2)
      expect(body.extensions.cost).toMatchObject({ requestedQueryCost: 152, throttleStatus: { maximumAvailable: 2000, restoreRate: 100 } });
      if (!body.data.orders.pageInfo.hasNextPage) break;
      after = body.data.orders.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(120);
    expect(seen[0]).toBe('gid://shopify/Order/5000');
  });

  it('answers inventory levels with quantities, products with variants, and Shopify\'s errors for bad queries', async () => {
    const { base, token } = await expiringToken();
    const inv = await gql(base, token, '{ inventoryItems(first: 2) { nodes { sku inventoryLevels(first: 5) { nodes { location { name } quantities(names: ["available", "on_hand"]) { name quantity } } } } } }');
    expect(inv.body.data.inventoryItems.nodes[0]).toMatchObject({ sku: 'SKU-0-0', inventoryLevels: { nodes: [{ location: { name: 'Main warehouse' }, quantities: [{ name: 'available' }, { name: 'on_hand' }] }, { location: { name: 'Shop floor' } }] } });
    const products = await gql(base, token, '{ products(first: 3, reverse: true) { nodes { title variants(first: 5) { nodes { sku inventoryQuantity } } } } }');
    expect(products.body.data.products.nodes[0].title).toBe('Product 29');
    const unknown = await gql(base, token, '{ shop { nope } }');
    expect(unknown.body.errors[0]).toMatchObject({ message: "Field 'nope' doesn't exist on type 'Shop'", extensions: { code: 'undefinedField' } });
    expect((await gql(base, token, '{ orders { nodes { id } } }')).body.errors[0].message).toBe('you must provide one of first or last');
    expect((await gql(base, token, '{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }')).body.errors[0].extensions.code).toBe('MAX_COST_EXCEEDED');
    expect((await gql(base, token, '{ shop { name ')).body.errors[0].message).toMatch(/^Parse error/);
  });

  it('throttles with THROTTLED (HTTP 200) when the bucket cannot pay the requested cost, and refills at the restore rate', async () => {
    sandbox.shopify.configure({ maximumAvailable: 400, restoreRate: 50 });
    try {
      const { base, token } = await expiringToken();
      const q = '{ orders(first: 100) { nodes { id } } }'; // requested 102, actual 102
      const answers = await Promise.all(Array.from({ length: 5 }, () => gql(base, token, q)));
      const throttled = answers.filter((a) => a.body.errors?.[0]?.extensions?.code === 'THROTTLED');
      expect(answers.length - throttled.length).toBe(3);
      expect(throttled[0]!.res.status).toBe(200);
      expect(throttled[0]!.body.extensions.cost).toMatchObject({ requestedQueryCost: 102, actualQueryCost: null, throttleStatus: { maximumAvailable: 400, restoreRate: 50 } });
      expect(throttled[0]!.body.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThan(102);
      await new Promise((r) => setTimeout(r, 1500));
      expect((await gql(base, token, q)).body.data.orders.nodes).toHaveLength(100);
    } finally {
      sandbox.shopify.reset();
    }
  });

  it('refuses a non-expiring token of a new public app (403) and an unknown token (401), and does not count GraphQL against the REST bucket', async () => {
    const store = `gql-${Date.now()}.myshopify.com`;
    const base = `${sandbox.url}/shopify/${store}`;
    const { query } = await consent(`${base}/admin/oauth/authorize?${new URLSearchParams({ client_id: app.clientId, scope: 'read_orders', redirect_uri: app.redirectUri })}`);
    const nonExpiring = ((await (await form(`${base}/admin/oauth/access_token`, { client_id: app.clientId, client_secret: app.clientSecret, code: query.code! })).json()) as Record<string, string>).access_token!;
    expect((await gql(base, nonExpiring, '{ shop { name } }')).res.status).toBe(403);
    expect((await gql(base, 'shpat_nobody', '{ shop { name } }')).res.status).toBe(401);
    const { base: b2, token } = await expiringToken();
    for (let i = 0; i < 45; i++) expect((await gql(b2, token, '{ shop { name } }')).res.headers.get('x-shopify-shop-api-call-limit')).toBeNull();
    expect((await get(b2, token, '/admin/api/2025-07/shop.json')).headers.get('x-shopify-shop-api-call-limit')).toBe('1/40');
  });
});

describe('migration to an expiring token (token exchange)', () => {
  it('exchanges a non-expiring token once: the old one stops working, a retry answers the same pair until it is refreshed', async () => {
    const store = `migrate-${Date.now()}.myshopify.com`;
    const base = `${sandbox.url}/shopify/${store}`;
    const { query } = await consent(`${base}/admin/oauth/authorize?${new URLSearchParams({ client_id: app.clientId, scope: 'read_orders', redirect_uri: app.redirectUri })}`);
    const old = ((await (await form(`${base}/admin/oauth/access_token`, { client_id: app.clientId, client_secret: app.clientSecret, code: query.code! })).json()) as Record<string, string>).access_token!;
    const exchange = async (extra: Record<string, string> = {}) => {
      const body = { client_id: app.clientId, client_secret: app.clientSecret, grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: old, subject_token_type: 'urn:shopify:params:oauth:token-type:offline-access-token', requested_token_type: 'urn:shopify:params:oauth:token-type:offline-access-token', expiring: '1', ...extra };
      const res = await fetch(`${base}/admin/oauth/access_token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    expect((await exchange({ expiring: '0' })).status).toBe(400);
    const first = await exchange();
    expect(first.body).toMatchObject({ access_token: expect.stringMatching(/^shpat_/), expires_in: 3600, refresh_token: expect.stringMatching(/^shprt_/) });
    expect((await get(base, first.body.access_token!, '/admin/api/2025-07/shop.json')).status).toBe(200);
    expect((await get(base, old, '/admin/api/2025-07/shop.json')).status).toBe(401);
    const retry = await exchange();
    expect([retry.body.access_token, retry.body.refresh_token]).toEqual([first.body.access_token, first.body.refresh_token]);
    expect((await form(`${base}/admin/oauth/access_token`, { grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: first.body.refresh_token! })).status).toBe(200);
    expect((await exchange()).body).toMatchObject({ error: 'invalid_grant' });
  });
});
