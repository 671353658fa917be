import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOAuth } from './oauth/index.js';
import { readBody } from './oauth/http.js';
import { VERIFY_ROUTES, type Reply, type Seeded } from './providers.js';

/**
 * `path` limits the failure to requests under that prefix, relative to the provider prefix
 * (e.g. `/connect/token`; for Shopify either with or without the store segment).
 */
export type Failure = { status?: number; latencyMs?: number; times?: number; path?: string };

const SHOPIFY_STORE = /^\/[a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com(?=\/)/;

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
  const requests: Array<{ provider: string; method: string; path: string }> = [];
  const oauth = createOAuth();

  function takeFailure(provider: string, path: string): Failure | undefined {
    const list = failures.get(provider);
    if (!list) return undefined;
    const rel = provider === 'shopify' ? path.replace(SHOPIFY_STORE, '') : path;
    const failure = list.find((f) => f.path === undefined || path.startsWith(f.path) || rel.startsWith(f.path));
    if (failure?.times !== undefined && --failure.times <= 0) {
      list.splice(list.indexOf(failure), 1);
      if (list.length === 0) failures.delete(provider);
    }
    return failure;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const [, provider = '', ...rest] = url.pathname.split('/');
    const path = `/${rest.join('/')}`;
    requests.push({ provider, method: req.method ?? 'GET', path });
    const send = (r: Reply) => {
      // Bodiless replies (redirects, revocations) carry no content type: clients must not parse them.
      if (r.body === undefined) {
        res.writeHead(r.status, { 'content-length': '0', ...r.headers });
        return res.end();
      }
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify(r.body));
    };
    const failure = takeFailure(provider, path);
    if (failure) {
      if (failure.latencyMs) await new Promise((r) => setTimeout(r, failure.latencyMs));
      if (failure.status) return send({ status: failure.status, body: { error: 'injected failure' } });
    }
    const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req);
    if (body === null) return send({ status: 413, body: { error: 'request body too large' } });
    const oauthReply = oauth.handle(provider, path, req, url, body, seeded.get(provider) ?? []);
    if (oauthReply) return send(oauthReply);
    const route = VERIFY_ROUTES[provider];
    const match = route && (typeof route.path === 'string' ? (route.path === path ? [path] : null) : route.path.exec(path));
    if (!route || route.method !== req.method || !match) return send({ status: 404, body: { error: 'not found' } });
    return send(route.check(req, url, seeded.get(provider) ?? [], match[1]));
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
    /** The base URL to configure for one provider (Shopify's keeps its store-domain placeholder). */
    baseUrlFor: (provider: string) => (provider === 'shopify' ? `${url}/shopify/{{storeDomain}}` : `${url}/${provider}`),
    /** Providers with a verify route for seeded credentials (OAuth-only ones: `oauth.providers()`). */
    providers: () => Object.keys(VERIFY_ROUTES),
    /** Makes these credentials valid for `provider` (field names as in Keyhold's catalog). */
    seed(provider: string, credentials: Record<string, string>) {
      seeded.set(provider, [...(seeded.get(provider) ?? []), credentials]);
    },
    /** The next `times` requests (default: all) to `provider` (under `path`, if given) fail as described. */
    fail(provider: string, failure: Failure) {
      const list = (failures.get(provider) ?? []).filter((f) => f.path !== failure.path);
      list.push({ ...failure });
      list.sort((a, b) => (b.path?.length ?? -1) - (a.path?.length ?? -1));
      failures.set(provider, list);
    },
    /** Ends injected failures of `provider` (only the one for `path`, if given). */
    heal(provider: string, path?: string) {
      if (path === undefined) return failures.delete(provider);
      const list = failures.get(provider) ?? [];
      const kept = list.filter((f) => f.path !== path);
      if (kept.length) failures.set(provider, kept);
      else failures.delete(provider);
      return kept.length !== list.length;
    },
    requests: () => [...requests],
    /** OAuth authorization servers for xero, quickbooks, shopify, amazon-sp-api and messenger. */
    oauth: oauth.api,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type Sandbox = Awaited<ReturnType<typeof createSandbox>>;
