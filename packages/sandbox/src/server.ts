import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VERIFY_ROUTES, type Reply, type Seeded } from './providers.js';

export type Failure = { status?: number; latencyMs?: number; times?: number };

/**
 * A local stand-in for every provider, on loopback. Tests seed valid credentials per provider
 * and inject failures; every other request gets the provider's own error reply.
 * Each provider lives under `/<provider id>` so one sandbox serves all of them:
 * point KEYHOLD_PROVIDER_<ID>_BASE_URL at `<sandbox url>/<id>`.
 */
export async function createSandbox(opts: { port?: number } = {}) {
  const seeded: Seeded = new Map();
  const failures = new Map<string, Failure>();
  const requests: Array<{ provider: string; method: string; path: string }> = [];

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const [, provider = '', ...rest] = url.pathname.split('/');
    const path = `/${rest.join('/')}`;
    requests.push({ provider, method: req.method ?? 'GET', path });
    const send = (r: Reply) => {
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify(r.body));
    };
    const failure = failures.get(provider);
    if (failure) {
      if (failure.times !== undefined && --failure.times <= 0) failures.delete(provider);
      if (failure.latencyMs) await new Promise((r) => setTimeout(r, failure.latencyMs));
      if (failure.status) return send({ status: failure.status, body: { error: 'injected failure' } });
    }
    const route = VERIFY_ROUTES[provider];
    const match = route && (typeof route.path === 'string' ? (route.path === path ? [path] : null) : route.path.exec(path));
    if (!route || route.method !== req.method || !match) return send({ status: 404, body: { error: 'not found' } });
    return send(route.check(req, url, seeded.get(provider) ?? [], match[1]));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    /** The base URL to configure for one provider (Shopify's keeps its store-domain placeholder). */
    baseUrlFor: (provider: string) => (provider === 'shopify' ? `${url}/shopify/{{storeDomain}}` : `${url}/${provider}`),
    providers: () => Object.keys(VERIFY_ROUTES),
    /** Makes these credentials valid for `provider` (field names as in Keyhold's catalog). */
    seed(provider: string, credentials: Record<string, string>) {
      seeded.set(provider, [...(seeded.get(provider) ?? []), credentials]);
    },
    /** The next `times` requests (default: all) to `provider` fail as described. */
    fail(provider: string, failure: Failure) {
      failures.set(provider, { ...failure });
    },
    heal: (provider: string) => failures.delete(provider),
    requests: () => [...requests],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type Sandbox = Awaited<ReturnType<typeof createSandbox>>;
