import { describe, expect, it } from 'vitest';
import { serverCluster } from '../../test-support/cli.js';

/**
 * Three Keyhold server processes on one Postgres share each connection's limits: together they
 * never send a store more than Shopify's bucket allows (40 at once, then 2 per second).
 */
const cluster = serverCluster(3, ['shopify']);

const json = async (res: Response) => ((await res.json()) as { data: Record<string, unknown> }).data;

describe('rate limits across processes', () => {
  it('3 servers × 50 concurrent calls to one Shopify store: at most 40 + 2/s reach it, the store never answers 429, the rest are 429 RATE_LIMITED', async () => {
    const K = cluster.servers[0]!.url;
    const post = (url: string, body: object, token?: string) =>
      fetch(`${K}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    const owner = await json(await post('/api/auth/signup', { organizationName: 'Limits', slug: `limits-${Date.now()}`, email: 'o@limits.example', password: `Limits-${crypto.randomUUID()}` }));
    const token = owner.accessToken as string;
    const store = `limits-${Date.now()}.myshopify.com`;
    const accessToken = `shpat_${crypto.randomUUID().replaceAll('-', '')}`;
    cluster.sandbox.seed('shopify', { accessToken, storeDomain: store });
    // Saved unverified: a verify request would spend a call of the store's bucket before the burst.
    const created = await post('/api/api-credentials?verify=false', { serviceName: 'shopify', apiKey: accessToken, additionalConfig: { storeDomain: store } }, token);
    expect(created.status).toBe(201);
    const key = (await json(await post('/api/api-keys', { name: 'limits', scopes: ['proxy'] }, token))).key as string;

    const before = cluster.sandbox.requests().filter((r) => r.provider === 'shopify').length;
    const started = Date.now();
    const calls = cluster.servers.flatMap((s) =>
      Array.from({ length: 50 }, () => fetch(`${s.url}/api/proxy/shopify/admin/api/2025-07/shop.json`, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => ({ status: r.status, code: r.status === 429 ? ((await r.json()) as { code: string }).code : null }))),
    );
    const results = await Promise.all(calls);
    const seconds = (Date.now() - started) / 1000;
    const reached = cluster.sandbox.requests().filter((r) => r.provider === 'shopify').length - before;
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBe(reached);
    expect(reached).toBeGreaterThanOrEqual(30);
    expect(reached).toBeLessThanOrEqual(40 + Math.ceil(2 * seconds));
    // The store itself never had to refuse a call: every request that reached it was answered 200.
    expect(cluster.sandbox.requests().filter((r) => r.provider === 'shopify' && r.status === 429)).toEqual([]);
    expect(results.filter((r) => r.status === 429).every((r) => r.code === 'RATE_LIMITED')).toBe(true);
    expect(ok + results.filter((r) => r.status === 429).length).toBe(150);
  }, 60_000);
});
