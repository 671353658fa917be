import { describe, expect, it } from 'vitest';
import { serverCluster } from '../../test-support/cli.js';

/**
 * Two Keyhold server processes on one Postgres, each with its own job runner, asked at once to
 * run the same sync of the same connection: the runs they make never overlap in time (the lease
 * in `sync_runs` is the only thing the processes share), and the store's data arrives whole.
 */
const cluster = serverCluster(2, ['shopify']);

type Run = { id: string; sync: string; mode: string; status: string; startedAt: string; finishedAt: string | null; added: number; pages: number };

describe('syncs across processes', () => {
  it('2 servers × 3 concurrent requests to run one sync: its runs never overlap and the store arrives whole', async () => {
    const K = cluster.servers[0]!.url;
    const call = (base: string, method: string, url: string, body?: object, token?: string) =>
      fetch(`${base}${url}`, { method, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const data = async (res: Response) => ((await res.json()) as { data: any }).data;
    const owner = await data(await call(K, 'POST', '/api/auth/signup', { organizationName: 'Runs', slug: `runs-${Date.now()}`, email: 'o@runs.example', password: `Runs-${crypto.randomUUID()}` }));
    const store = `runs-${Date.now()}.myshopify.com`;
    const accessToken = `shpat_${crypto.randomUUID().replaceAll('-', '')}`;
    cluster.sandbox.seed('shopify', { accessToken, storeDomain: store });
    cluster.sandbox.shopifyOrders.grow(store, 1000);
    // A slow store: 4 pages of 250 take about 2 s, so requests arriving meanwhile meet a running run.
    cluster.sandbox.fail('shopify', { latencyMs: 500, path: `/${store}/admin/api/2025-07/orders.json` });
    const created = await call(K, 'POST', '/api/api-credentials?verify=false', { serviceName: 'shopify', apiKey: accessToken, additionalConfig: { storeDomain: store } }, owner.accessToken);
    expect(created.status).toBe(201);
    const connectionId = (await data(created)).id as string;
    const key = (await data(await call(K, 'POST', '/api/api-keys', { name: 'runs', role: 'admin', scopes: ['syncs:run', 'records:read'] }, owner.accessToken))).key as string;

    const asked = await Promise.all(cluster.servers.flatMap((s) => Array.from({ length: 3 }, () => call(s.url, 'POST', `/api/syncs/${connectionId}/orders/run`, undefined, key))));
    expect(asked.map((r) => r.status)).toEqual(Array(6).fill(202));

    // Until every queued request was taken and nothing runs: the run history stops changing.
    const runsOf = async () => ((await data(await call(K, 'GET', `/api/syncs/runs?connection=${connectionId}&sync=orders&limit=100`, undefined, key))) as Run[]);
    let runs: Run[] = [];
    let stableSince = Date.now();
    let last = '';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      runs = await runsOf();
      const now = JSON.stringify(runs.map((r) => [r.id, r.status]));
      if (now !== last) [last, stableSince] = [now, Date.now()];
      if (runs.length > 0 && runs.every((r) => r.status !== 'running') && Date.now() - stableSince > 5_000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    cluster.sandbox.heal('shopify');
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    // Never two at once: sorted by start, each run began after the one before it had finished.
    const spans = runs.map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt!)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    // The first run read the whole store (4 pages) and added every order; the ones after it were
    // incremental and found nothing new.
    const [first, ...later] = [...runs].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    expect(first).toMatchObject({ mode: 'full', pages: 4, added: 1000 });
    expect(later.every((r) => r.mode === 'incremental' && r.added === 0)).toBe(true);
    const feed = await data(await call(K, 'GET', `/api/records/shopify_orders?connection=${connectionId}&limit=500`, undefined, key));
    expect(feed).toHaveLength(500);
  }, 120_000);
});
