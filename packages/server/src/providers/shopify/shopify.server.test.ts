import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, refreshTokenReader, signup } from '../../test-support/accounts.js';
import { TEST_PUBLIC_URL } from '../../test-support/index.js';
import { appFor, oauthHarness, useCrashableHarness, adminQuery } from '../../test-support/oauth.js';

const crashable = useCrashableHarness();
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(() => {
  h = crashable.h;
});

const proxy = (acct: { accessToken: string }, path: string, init: { method?: 'GET' | 'POST'; payload?: string; headers?: Record<string, string> } = {}) =>
  h.t.app.inject({ method: init.method ?? 'GET', url: `/api/proxy${path}`, headers: { ...bearer(acct.accessToken), ...init.headers }, ...(init.payload ? { payload: init.payload } : {}) });

async function connectedStore(name: string) {
  h.t.clock.set(Date.now()); // the callback's timestamp is checked against Keyhold's clock
  const acct = await signup(h.t.app);
  const shop = `${name}-${crypto.randomUUID().slice(0, 8)}.myshopify.com`;
  const res = await h.connect(acct, 'shopify', { shop });
  if (res.statusCode !== 302) throw new Error(res.body);
  return { acct, shop };
}

describe('Shopify through the proxy', () => {
  it("rewrites REST pagination Link URLs from the store to Keyhold's proxy path; following them pages through every order", async () => {
    const { acct, shop } = await connectedStore('links');
    const first = await proxy(acct, '/shopify/admin/api/2025-07/orders.json?limit=50');
    expect(first.statusCode).toBe(200);
    const link = String(first.headers.link);
    expect(link).toMatch(new RegExp(`^<${TEST_PUBLIC_URL}/api/proxy/shopify/admin/api/2025-07/orders\\.json\\?page_info=[\\w-]+&limit=50>; rel="next"$`));
    expect(link).not.toContain(shop);
    const ids = first.json().orders.map((o: { id: number }) => o.id);
    let next = /<([^>]+)>; rel="next"/.exec(link)?.[1];
    while (next) {
      const page = await proxy(acct, next.slice(`${TEST_PUBLIC_URL}/api/proxy`.length));
      expect(page.statusCode).toBe(200);
      expect(String(page.headers.link)).toMatch(new RegExp(`<${TEST_PUBLIC_URL}/api/proxy/shopify/[^>]+>; rel="previous"`));
      ids.push(...page.json().orders.map((o: { id: number }) => o.id));
      next = /<([^>]+)>; rel="next"/.exec(String(page.headers.link))?.[1];
    }
    expect(new Set(ids).size).toBe(120);
  });

  it('passes GraphQL Admin API calls through with the token injected, cost extensions included', async () => {
    const { acct, shop } = await connectedStore('graphql');
    const res = await proxy(acct, '/shopify/admin/api/2025-07/graphql.json', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ query: '{ shop { myshopifyDomain } orders(first: 2) { nodes { id } } }' }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ data: { shop: { myshopifyDomain: shop }, orders: { nodes: [{ id: 'gid://shopify/Order/5000' }, { id: 'gid://shopify/Order/5001' }] } }, extensions: { cost: { requestedQueryCost: 5, throttleStatus: { maximumAvailable: 2000 } } } });
  });
});

describe('Shopify refresh-token rotation', () => {
  const query = (sql: string, params: unknown[]) => adminQuery(h.scratch!.adminUrl, sql, params);
  const refreshAtShopify = (shop: string, refreshToken: string) => fetch(`${h.sandbox.url}/shopify/${shop}/admin/oauth/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: appFor('shopify').clientId, client_secret: appFor('shopify').clientSecret, grant_type: 'refresh_token', refresh_token: refreshToken }),
  });

  it('recovers from a crash after Shopify answered a refresh: the stored (used) refresh token works until its replacement is used', async () => {
    const { acct, shop } = await connectedStore('crash');
    const read = await refreshTokenReader(h.t.app, h.t.services.apiKeys, acct, 'shopify');
    const stored = (await read()).json().data.credentials.refreshToken as string;
    h.t.clock.advance(3400 * 1000); // inside the 300 s margin of the 1 h token
    crashable.crashAfterNextAnswer();
    expect((await read()).statusCode).toBe(500); // the node "died" after Shopify rotated the pair
    h.t.clock.advance(31_000); // its refresh lease runs out
    const recovered = (await read()).json().data.credentials;
    expect(recovered.refreshToken).not.toBe(stored);
    expect((await query('select status from connections where tenant_id = $1', [acct.tenantId]))[0].status).toBe('active');
    // The next refresh uses the replacement, which retires the token that was used twice.
    h.t.clock.advance(3400 * 1000);
    expect((await read()).json().data.credentials.refreshToken).not.toBe(recovered.refreshToken);
    expect(await (await refreshAtShopify(shop, stored)).json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('without that grace (Shopify before 2026-08-28 kept a used token 60 minutes; here none) the same crash needs a reconnect', async () => {
    h.sandbox.oauth.configure('shopify', { refreshGraceSeconds: 0 });
    try {
      const { acct } = await connectedStore('nograce');
      const read = await refreshTokenReader(h.t.app, h.t.services.apiKeys, acct, 'shopify');
      h.t.clock.advance(3400 * 1000);
      crashable.crashAfterNextAnswer();
      expect((await read()).statusCode).toBe(500);
      h.t.clock.advance(31_000);
      expect((await read()).json().code).toBe('INTEGRATION_NEEDS_REAUTH');
    } finally {
      h.sandbox.oauth.configure('shopify', { refreshGraceSeconds: 30 * 86400 });
    }
  });
});
