import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOAuth } from './oauth/index.js';
import { readBody } from './oauth/http.js';
import { VERIFY_ROUTES, type Reply, type Seeded } from './providers.js';
import { apiRoute, newApiState } from './apis.js';
import { createLimits, limitKey } from './limits.js';
import { intuitHeaders } from './quickbooks/data.js';
import { quickbooksCompanies } from './quickbooks/exchange-rates.js';
import { dailyRates } from './rates/daily-rates.js';
import { XERO_HOSTS } from './xero/openid.js';
import { wiseWebhookKeyPair } from './webhooks/wise.js';
import { createCaptures } from './captures.js';
import { xeroControlRoute, xeroInvoiceStore } from './xero/invoices.js';
import { quickbooksBooks } from './quickbooks/transactions.js';
import { amazonHostPath, amazonInventory, amazonOperation, amazonRegion, requestIdHeader } from './amazon/index.js';
import { storeCatalog, storeOrders } from './shopify/store-data.js';
import { unleashedStock } from './unleashed-stock.js';
import { RECEIVER_PREFIX, createWebhookReceiver } from './webhook-receiver.js';
import { faultsRoute } from './faults.js';

/**
 * `path` limits the failure to requests under that prefix, relative to the provider prefix
 * (e.g. `/connect/token`; for Shopify either with or without the store segment).
 */
export type Failure = { status?: number; latencyMs?: number; times?: number; path?: string; /** Let this many matching requests through first (a provider failing mid-sync). */ after?: number };

const SHOPIFY_STORE = /^\/[a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com(?=\/)/;

export type SandboxRequest = { provider: string; method: string; path: string; query: string; headers: Record<string, string>; body: string; status: number; /** Amazon: the regional endpoint called. */ region?: string };

/** Which paths are a provider's rate-limited API (OAuth and identity endpoints are not). */
const LIMITED_PATH: Record<string, RegExp> = {
  xero: /^\/api\.xro\//,
  quickbooks: /^\/v3\/company\//,
  // GraphQL has its own cost-based bucket (shopify/graphql.ts).
  shopify: /^\/[^/]+\.myshopify\.com\/admin\/api\/(?!\d{4}-\d{2}\/graphql\.json$)/,
  // Every SP-API operation, each in its own bucket (amazon/index.ts); not LWA or the consent page.
  'amazon-sp-api': /^\/(?!auth\/|apps\/)/,
  unleashed: /^\/(StockOnHand|Currencies)/,
  stripe: /^\/v1\//,
  resend: /^\/(emails|domains)/,
  openai: /^\/v1\//,
  anthropic: /^\/v1\//,
  slack: /^\/api\/(?!oauth\.)/,
};

/**
 * A local stand-in for every provider, on loopback. Tests seed valid credentials per provider
 * and inject failures; every other request gets the provider's own error reply.
 * Each provider lives under `/<provider id>` so one sandbox serves all of them:
 * point KEYHOLD_PROVIDER_<ID>_BASE_URL at `<sandbox url>/<id>`.
 */
export async function createSandbox(opts: { port?: number } = {}) {
  const seeded: Seeded = new Map();
  // Per provider, path-scoped failures first so they win over a provider-wide one.
  const failures = new Map<string, Failure[]>();
  const requests: SandboxRequest[] = [];
  const oauth = createOAuth();
  const limits = createLimits();
  // Wise signs webhooks with its own RSA key; the sandbox plays Wise with a pair of its own.
  const wiseWebhookKeys = wiseWebhookKeyPair();
  const apiState = newApiState();
  const captures = createCaptures();
  const receiver = createWebhookReceiver();

  function takeFailure(provider: string, path: string): Failure | undefined {
    const list = failures.get(provider);
    if (!list) return undefined;
    const rel = provider === 'shopify' ? path.replace(SHOPIFY_STORE, '') : path;
    const failure = list.find((f) => f.path === undefined || path.startsWith(f.path) || rel.startsWith(f.path));
    if (failure?.after) {
      failure.after--;
      return undefined;
    }
    if (failure?.times !== undefined && --failure.times <= 0) {
      list.splice(list.indexOf(failure), 1);
      if (list.length === 0) failures.delete(provider);
    }
    return failure;
  }

  function fail(provider: string, failure: Failure) {
    const list = (failures.get(provider) ?? []).filter((f) => f.path !== failure.path);
    list.push({ ...failure });
    list.sort((a, b) => (b.path?.length ?? -1) - (a.path?.length ?? -1));
    failures.set(provider, list);
  }

  function heal(provider: string, path?: string) {
    if (path === undefined) return failures.delete(provider);
    const list = failures.get(provider) ?? [];
    const kept = list.filter((f) => f.path !== path);
    if (kept.length) failures.set(provider, kept);
    else failures.delete(provider);
    return kept.length !== list.length;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    // A client that hard-codes Amazon's hosts reaches the sandbox through a transport shim.
    if (url.pathname.startsWith(RECEIVER_PREFIX)) return receiver.handle(req, res, url);
    url.pathname = amazonHostPath(req.headers.host, url.pathname) ?? url.pathname;
    let [, provider = '', ...rest] = url.pathname.split('/');
    // The official Stripe client calls /v1/… at the host's root.
    if (provider === 'v1') [provider, rest] = ['stripe', ['v1', ...rest]];
    // xero-node fixes Xero's hosts; its contract test connects them here, Host header intact.
    if (XERO_HOSTS.includes(String(req.headers.host))) [provider, rest] = ['xero', url.pathname.split('/').slice(1)];
    let path = `/${rest.join('/')}`;
    // Amazon's regional endpoints: /amazon-sp-api/<na|eu|fe>/… (amazon/index.ts).
    let region: string | undefined;
    if (provider === 'amazon-sp-api') ({ region, path } = amazonRegion(path));
    const seen: SandboxRequest = { provider, method: req.method ?? 'GET', path, query: url.search, headers: { ...req.headers } as Record<string, string>, body: '', status: 0, ...(region ? { region } : {}) };
    requests.push(seen);
    let release: () => void = () => undefined;
    let extraHeaders: Record<string, string> = {};
    const send = (r: Reply) => {
      seen.status = r.status;
      captures.observe(seen, r);
      release();
      const headers = { ...extraHeaders, ...(provider === 'quickbooks' ? intuitHeaders() : {}), ...r.headers };
      // Bodiless replies (redirects, revocations) carry no content type: clients must not parse them.
      if (r.body === undefined) {
        res.writeHead(r.status, { 'content-length': '0', ...headers });
        return res.end();
      }
      res.writeHead(r.status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(r.body));
    };
    // Resend refuses requests without a User-Agent (403, error 1010):
    // https://resend.com/docs/api-reference/introduction#user-agent
    if (provider === 'resend' && !req.headers['user-agent']) {
      return send({ status: 403, body: { name: 'missing_user_agent', message: 'error code: 1010', statusCode: 403 } });
    }
    if (provider === '_sandbox' && path === '/faults') return send(faultsRoute(req.method ?? 'GET', url, (await readBody(req)) ?? '', { fail, heal }));
    if (provider === '_sandbox') return send(captures.route(req.method ?? 'GET', path, url) ?? xeroControlRoute(req.method ?? 'GET', path, url) ?? { status: 404, body: { error: 'not found' } });
    const failure = takeFailure(provider, path);
    // The provider's own rate limits apply to its API calls (not to OAuth endpoints). Injected
    // latency counts as time in flight (concurrency limits), an injected status is sent at once.
    if (LIMITED_PATH[provider]?.test(path) && !failure?.status) {
      const key = limitKey(provider, req, SHOPIFY_STORE.exec(path)?.[0].slice(1));
      const op = provider === 'amazon-sp-api' ? amazonOperation(req.method ?? 'GET', path, limits.api.configured(provider)) : null;
      const verdict = op ? limits.admit(provider, `${key}\u0000${op.name}`, op.settings) : limits.admit(provider, key);
      if (!verdict.ok) return send(verdict.reply);
      release = verdict.done;
      extraHeaders = verdict.headers;
    }
    if (failure) {
      if (failure.latencyMs) await new Promise((r) => setTimeout(r, failure.latencyMs));
      if (failure.status) return send({ status: failure.status, body: { error: 'injected failure' } });
    }
    if (provider === 'rates' && req.method === 'GET') return send(dailyRates(path, url));
    const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req);
    if (body === null) return send({ status: 413, body: { error: 'request body too large' } });
    seen.body = body;
    const keys = seeded.get(provider) ?? [];
    if (provider === 'amazon-sp-api') extraHeaders = { ...requestIdHeader(), ...extraHeaders };
    const oauthReply = oauth.handle(provider, path, req, url, body, keys, region);
    if (oauthReply) return send(oauthReply);
    const api = apiRoute(provider, path, { req, url, body, state: apiState }, keys);
    if (api) return send(api);
    const route = VERIFY_ROUTES[provider];
    const match = route && (typeof route.path === 'string' ? (route.path === path ? [path] : null) : route.path.exec(path));
    if (!route || route.method !== req.method || !match) return send({ status: 404, body: { error: 'not found' } });
    return send(route.check(req, url, keys, match[1]));
  }
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    /** The base URL to configure for one provider (Shopify's keeps its store-domain placeholder, Amazon's its region). */
    baseUrlFor: (provider: string) => (provider === 'shopify' ? `${url}/shopify/{{storeDomain}}` : provider === 'amazon-sp-api' ? `${url}/amazon-sp-api/{{region}}` : `${url}/${provider}`),
    /** Providers with a verify route for seeded credentials (OAuth-only ones: `oauth.providers()`). */
    providers: () => Object.keys(VERIFY_ROUTES),
    /** Makes these credentials valid for `provider` (field names as in Keyhold's catalog). */
    seed(provider: string, credentials: Record<string, string>) {
      seeded.set(provider, [...(seeded.get(provider) ?? []), credentials]);
    },
    /** The next `times` requests (default: all) to `provider` (under `path`, if given) fail as described; also `POST /_sandbox/faults`. */
    fail,
    /** Ends injected failures of `provider` (only the one for `path`, if given); also `DELETE /_sandbox/faults?provider=`. */
    heal,
    /** Every request served: provider, method, path, query, request headers, body and the status answered. */
    requests: () => [...requests],
    /** The providers' rate limits (documented values by default): `configure(provider, …)`, `reset()`. */
    limits: limits.api,
    /** OAuth authorization servers for xero, quickbooks, shopify, amazon-sp-api and messenger. */
    oauth: oauth.api,
    /** Shopify's GraphQL Admin API cost bucket per store: `configure({ maximumAvailable, restoreRate })`, `reset()`. */
    shopify: oauth.shopify,
    /** QuickBooks companies by realm: `configure(realm, { homeCurrency, currencies })`, `fail(realm)`, `heal`, `rates(realm)`, `writes(realm)`. */
    quickbooksCompanies,
    /** Shopify stores' orders: `grow(store, count)`, `update(store, id, at)`, `remove(store, id)`, `ids(store)`. */
    shopifyOrders: storeOrders,
    /** Xero organisations' invoices: `list(org)`, `pay|void|remove|approve(org, invoiceId, at)`; also `POST /_sandbox/xero/invoices/<id>/<change>?tenant=<org>`. */
    xeroInvoices: xeroInvoiceStore,
    /** QuickBooks companies' invoices and bills: `invoices(realm)`, `bills(realm)`, `pay(realm, entity, id, at)`, `remove(realm, entity, id)`. */
    quickbooksBooks,
    /** Shopify stores' products and stock: `grow(store, count)`, `setAvailable(store, item, location, available, at)`, views. */
    shopifyCatalog: storeCatalog,
    /** Amazon sellers' FBA inventory (by sandbox account): `set(account, sellerSku, fulfillable, at)`, `list(account)`. */
    amazonInventory,
    /** Unleashed stock on hand (by API id): `set(apiId, productCode, available, at)`, `list(apiId)`. */
    unleashedStock,
    /** Signing keys of the providers whose webhooks are signed with the provider's own key: Wise's public PEM goes on a test connection. */
    webhookKeys: { wise: wiseWebhookKeys },
    /** What providers delivered to people: Resend's emails (`inbox(to)`), Slack's posts (`posts(channel)`); also at `/_sandbox/…`. */
    captures: captures.api,
    /** Tenants' webhook endpoints receiving Keyhold's outbound webhooks (webhook-receiver.ts). */
    webhookReceiver: receiver.api(url),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type Sandbox = Awaited<ReturnType<typeof createSandbox>>;
