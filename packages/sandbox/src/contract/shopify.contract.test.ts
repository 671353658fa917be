/**
 * @shopify/shopify-api 13.1.0 (Node 20; 14+ needs Node 22) against the sandbox, as a non-embedded
 * app that installs through the authorization code grant.
 *
 * Transport shim: the library hard-codes `https://<shop>/admin/...` (it takes the shop, never a
 * base URL; `hostName`/`hostScheme` name the app, not Shopify). After importing its Node adapter
 * (`@shopify/shopify-api/adapters/node`), the test replaces the adapter's fetch with the library's
 * own hook `setAbstractFetchFunc` by one that sends `https://<store>.myshopify.com/<path>` to
 * `<sandbox>/shopify/<store>.myshopify.com/<path>` and leaves everything else (method, headers,
 * body, the Link URLs it reads back) untouched.
 */
import '@shopify/shopify-api/adapters/node';
import { ApiVersion, GraphqlQueryError, HttpResponseError, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { abstractFetch, setAbstractFetchFunc } from '@shopify/shopify-api/runtime';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

const APP_HOST = 'keyhold-contract.test';
const app = { clientId: 'contract-shopify-app', clientSecret: 'shpss_contract_secret', redirectUri: `https://${APP_HOST}/auth/callback` };
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';

let sandbox: Sandbox;
let appServer: Server;
let appUrl: string;
let expiring = true;

const shopify = shopifyApi({
  apiKey: app.clientId,
  apiSecretKey: app.clientSecret,
  scopes: ['read_orders', 'read_products', 'read_inventory'],
  hostName: APP_HOST,
  hostScheme: 'https',
  apiVersion: ApiVersion.July25,
  isEmbeddedApp: false,
  logger: { level: LogSeverity.Error },
});

beforeAll(async () => {
  sandbox = await createSandbox();
  sandbox.oauth.registerApp('shopify', app);
  const realFetch = abstractFetch;
  setAbstractFetchFunc(((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (!url.hostname.endsWith('.myshopify.com')) return realFetch(input as string, init);
    return realFetch(`${sandbox.url}/shopify/${url.hostname}${url.pathname}${url.search}`, init);
  }) as typeof fetch);
  // The app's two OAuth routes, run by the library on real Node requests and responses.
  appServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `https://${APP_HOST}`);
    if (url.pathname === '/auth') {
      void shopify.auth.begin({ shop: url.searchParams.get('shop')!, callbackPath: '/auth/callback', isOnline: false, rawRequest: req, rawResponse: res });
      return;
    }
    void shopify.auth.callback({ rawRequest: req, rawResponse: res, expiring }).then((r) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.session.toObject()));
    }, (err: Error) => {
      res.writeHead(400);
      res.end(err.constructor.name);
    });
  });
  await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
  appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => appServer.close(r));
  await sandbox.close();
});

/** A merchant installing the app: auth.begin → Shopify's consent (the sandbox's) → auth.callback. */
async function install(store: string, withExpiring = true) {
  expiring = withExpiring;
  const begin = await fetch(`${appUrl}/auth?shop=${store}`, { redirect: 'manual', headers: { 'user-agent': BROWSER } });
  expect(begin.status).toBe(302);
  const authorize = new URL(begin.headers.get('location')!);
  expect(`${authorize.origin}${authorize.pathname}`).toBe(`https://${store}/admin/oauth/authorize`);
  const cookies = begin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const consent = await fetch(`${sandbox.url}/shopify/${store}${authorize.pathname}${authorize.search}`, { redirect: 'manual' });
  const callback = new URL(consent.headers.get('location')!);
  expect(`${callback.origin}${callback.pathname}`).toBe(app.redirectUri);
  const res = await fetch(`${appUrl}${callback.pathname}${callback.search}`, { headers: { cookie: cookies, 'user-agent': BROWSER } });
  if (res.status !== 200) throw new Error(`auth.callback failed: ${await res.text()}`);
  return { res, body: (await res.json()) as Record<string, unknown>, callback };
}
const store = (name: string) => `${name}-${Date.now()}.myshopify.com`;

describe('@shopify/shopify-api 13.1.0 against the sandbox', () => {
  it('auth.begin → consent → auth.callback with expiring=1: the library validates the callback HMAC and gets an expiring offline token', async () => {
    const shop = store('contract');
    const { res, body } = await install(shop);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ shop, isOnline: false, accessToken: expect.stringMatching(/^shpat_/), refreshToken: expect.stringMatching(/^shprt_/), scope: 'read_orders,read_products,read_inventory' });
    const exchange = sandbox.requests().filter((r) => r.path === `/${shop}/admin/oauth/access_token`).at(-1)!;
    expect(JSON.parse(exchange.body)).toMatchObject({ expiring: '1', client_id: app.clientId });
  });

  it('utils.validateHmac accepts what the sandbox signs with reserved characters in the state, and refuses a changed value', async () => {
    const shop = store('hmac');
    const q = new URLSearchParams({ client_id: app.clientId, scope: 'read_orders', redirect_uri: app.redirectUri, state: 'a b/c=+d' });
    const consent = await fetch(`${sandbox.url}/shopify/${shop}/admin/oauth/authorize?${q}`, { redirect: 'manual' });
    const query = Object.fromEntries(new URL(consent.headers.get('location')!).searchParams);
    expect(query.state).toBe('a b/c=+d');
    expect(await shopify.utils.validateHmac(query)).toBe(true);
    expect(await shopify.utils.validateHmac({ ...query, state: 'a b/c=' })).toBe(false);
  });

  it('auth.callback refuses a callback whose parameters were changed after Shopify signed them', async () => {
    expiring = true;
    const shop = store('tamper');
    const begin = await fetch(`${appUrl}/auth?shop=${shop}`, { redirect: 'manual', headers: { 'user-agent': BROWSER } });
    const authorize = new URL(begin.headers.get('location')!);
    const consent = await fetch(`${sandbox.url}/shopify/${shop}${authorize.pathname}${authorize.search}`, { redirect: 'manual' });
    const callback = new URL(consent.headers.get('location')!);
    callback.searchParams.set('code', `${callback.searchParams.get('code')}0`);
    const res = await fetch(`${appUrl}${callback.pathname}${callback.search}`, { headers: { cookie: begin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; '), 'user-agent': BROWSER } });
    expect([res.status, await res.text()]).toEqual([400, 'InvalidOAuthError']);
  });

  it('auth.refreshToken rotates the pair; the used refresh token still works until the new one is used', async () => {
    const shop = store('refresh');
    const { body } = await install(shop);
    const first = await shopify.auth.refreshToken({ shop, refreshToken: body.refreshToken as string });
    expect(first.session).toMatchObject({ shop, accessToken: expect.stringMatching(/^shpat_/), refreshToken: expect.stringMatching(/^shprt_/) });
    expect(first.session.accessToken).not.toBe(body.accessToken);
    // The app "lost" that answer: the old refresh token is retried and still works.
    const again = await shopify.auth.refreshToken({ shop, refreshToken: body.refreshToken as string });
    await shopify.auth.refreshToken({ shop, refreshToken: again.session.refreshToken! });
    const err = await shopify.auth.refreshToken({ shop, refreshToken: body.refreshToken as string }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpResponseError);
    expect((err as HttpResponseError).response).toMatchObject({ code: 400, body: { error: 'invalid_grant' } });
  });

  it('a non-expiring token (expiring=0) of a new public app is refused with 403; auth.migrateToExpiringToken exchanges it', async () => {
    const shop = store('migrate');
    const { body } = await install(shop, false);
    expect(body).toMatchObject({ accessToken: expect.stringMatching(/^shpat_/) });
    expect(body.refreshToken).toBeUndefined();
    const old = shopify.session.customAppSession(shop);
    old.accessToken = body.accessToken as string;
    const refused = await new shopify.clients.Graphql({ session: old }).request('{ shop { name } }').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpResponseError);
    expect((refused as HttpResponseError).response.code).toBe(403);
    const { session } = await shopify.auth.migrateToExpiringToken({ shop, nonExpiringOfflineAccessToken: body.accessToken as string });
    expect(session).toMatchObject({ shop, accessToken: expect.stringMatching(/^shpat_/), refreshToken: expect.stringMatching(/^shprt_/) });
    expect(session.expires!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    const ok = await new shopify.clients.Graphql({ session }).request('{ shop { myshopifyDomain } }');
    expect(ok.data).toEqual({ shop: { myshopifyDomain: shop } });
  });

  it('GraphQL client: orders paged by cursor, inventory levels, the cost and throttle status in extensions, THROTTLED as a GraphqlQueryError', async () => {
    const shop = store('graphql');
    const { body } = await install(shop);
    const session = shopify.session.customAppSession(shop);
    session.accessToken = body.accessToken as string;
    const client = new shopify.clients.Graphql({ session });
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { data?: any; extensions?: any } = await client.request('query ($after: String) { orders(first: 100, after: $after) { nodes { id updatedAt totalPriceSet { shopMoney { amount } } } pageInfo { hasNextPage endCursor } } }', { variables: { after } });
      ids.push(...page.data.orders.nodes.map((o: { id: string }) => o.id));
      expect(page.extensions.cost).toMatchObject({ requestedQueryCost: 302, throttleStatus: { maximumAvailable: 2000, restoreRate: 100 } });
      if (!page.data.orders.pageInfo.hasNextPage) break;
      after = page.data.orders.pageInfo.endCursor;
    }
    expect(new Set(ids).size).toBe(120);
    const inv = await client.request('{ inventoryItems(first: 1) { nodes { sku inventoryLevels(first: 2) { nodes { location { name } quantities(names: ["available"]) { name quantity } } } } } }');
    expect(inv.data.inventoryItems.nodes[0].inventoryLevels.nodes).toHaveLength(2);
    sandbox.shopify.configure({ maximumAvailable: 150, restoreRate: 1 });
    try {
      await client.request('{ orders(first: 100) { nodes { id } } }');
      const throttled = await client.request('{ orders(first: 100) { nodes { id } } }').catch((e: unknown) => e);
      expect(throttled).toBeInstanceOf(GraphqlQueryError);
      expect((throttled as GraphqlQueryError).body).toMatchObject({ errors: { graphQLErrors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }] } });
    } finally {
      sandbox.shopify.reset();
    }
  });

  it('REST client: orders paged through pageInfo.nextPage / prevPage from the Link header, with the call-limit header', async () => {
    const shop = store('rest');
    const { body } = await install(shop);
    const session = shopify.session.customAppSession(shop);
    session.accessToken = body.accessToken as string;
    const client = new shopify.clients.Rest({ session });
    let page = await client.get<{ orders: Array<{ id: string }> }>({ path: 'orders', query: { limit: 50 } });
    expect(page.headers['X-Shopify-Shop-Api-Call-Limit']).toEqual(['1/40']);
    const ids = page.body.orders.map((o) => o.id);
    while (page.pageInfo?.nextPage) {
      page = await client.get({ path: page.pageInfo.nextPage.path, query: page.pageInfo.nextPage.query });
      ids.push(...page.body.orders.map((o) => o.id));
    }
    expect(ids).toHaveLength(120);
    expect(ids[0]).toBe('5000'); // the client turns ids into strings
    expect(page.pageInfo).toMatchObject({ limit: '50', prevPage: { path: 'orders', query: { limit: '50', page_info: expect.any(String) } } });
    const back = await client.get<{ orders: Array<{ id: string }> }>({ path: page.pageInfo!.prevPage!.path, query: page.pageInfo!.prevPage!.query });
    expect(back.body.orders.map((o) => o.id)).toEqual(ids.slice(50, 100));
    const inventory = await client.get<{ inventory_levels: unknown[] }>({ path: 'inventory_levels', query: { inventory_item_ids: '8000,8001', limit: 10 } });
    expect(inventory.body.inventory_levels).toHaveLength(4);
  });
});
