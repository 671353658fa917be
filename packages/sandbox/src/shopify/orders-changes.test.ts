import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await createSandbox();
});
afterAll(() => sandbox.close());

let n = 0;
function customAppStore() {
  const store = `changes-${++n}-${Date.now()}.myshopify.com`;
  const token = `shpat_changes${n}`;
  sandbox.seed('shopify', { accessToken: token, storeDomain: store });
  return { store, token, base: `${sandbox.url}/shopify/${store}` };
}

/** Every order of a REST listing, following `Link: rel="next"` (the filters travel inside page_info). */
async function allOrders(base: string, token: string, query: string) {
  const ids: number[] = [];
  let url: string | undefined = `${base}/admin/api/2025-07/orders.json?${query}`;
  while (url) {
    const res: Response = await fetch(url, { headers: { 'x-shopify-access-token': token } });
    expect(res.status).toBe(200);
    ids.push(...((await res.json()) as { orders: Array<{ id: number }> }).orders.map((o) => o.id));
    const next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    url = next ? `${base}${new URL(next).pathname}${new URL(next).search}` : undefined;
  }
  return ids;
}

describe('Shopify orders that change (syncs)', () => {
  it('a store grows to 1,000 orders; updated_at_min lists the updated ones across pages; a deleted order is no longer listed', async () => {
    const { store, token, base } = customAppStore();
    sandbox.shopifyOrders.grow(store, 1000);
    expect(await allOrders(base, token, 'limit=250&status=any')).toHaveLength(1000);
    const at = new Date('2030-01-01T00:00:00Z');
    const updated = [5000, 5300, 5600, 5999];
    for (const id of updated) expect(sandbox.shopifyOrders.update(store, id, at)).toBe(true);
    expect(await allOrders(base, token, `limit=2&status=any&updated_at_min=${encodeURIComponent(at.toISOString())}`)).toEqual(updated);
    expect(sandbox.shopifyOrders.remove(store, 5300)).toBe(true);
    expect(sandbox.shopifyOrders.remove(store, 5300)).toBe(false);
    const after = await allOrders(base, token, 'limit=250');
    expect(after).toHaveLength(999);
    expect(after).not.toContain(5300);
  });

  it("`after` lets the first requests through and fails the rest (a provider failing mid-sync)", async () => {
    const { token, base, store } = customAppStore();
    sandbox.fail('shopify', { status: 503, path: `/${store}/admin/api/2025-07/orders.json`, after: 2 });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/admin/api/2025-07/orders.json?limit=1`, { headers: { 'x-shopify-access-token': token } })).status);
      expect(statuses).toEqual([200, 200, 503, 503]);
    } finally {
      sandbox.heal('shopify');
    }
  });
});
