import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from './index.js';

let s: Sandbox;
beforeAll(async () => {
  s = await createSandbox();
  s.seed('shopify', { accessToken: 'shpat_faults', storeDomain: 'faults.myshopify.com' });
  s.shopifyOrders.grow('faults.myshopify.com', 120);
});
afterAll(() => s.close());

const orders = () => fetch(`${s.url}/shopify/faults.myshopify.com/admin/api/2025-07/orders.json?limit=10`, { headers: { 'x-shopify-access-token': 'shpat_faults' } });
const faults = (method: 'POST' | 'DELETE', body?: object, query = '') =>
  fetch(`${s.url}/_sandbox/faults${query}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });

describe('the failure switch over HTTP', () => {
  it('POST /_sandbox/faults makes a provider fail after some calls (mid-sync); DELETE heals it', async () => {
    expect((await faults('POST', { provider: 'shopify', status: 503, afterCalls: 2, path: '/admin/api/2025-07/orders.json' })).status).toBe(201);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await orders()).status);
    expect(statuses).toEqual([200, 200, 503, 503]);
    expect((await faults('DELETE', undefined, '?provider=shopify')).status).toBe(200);
    expect((await orders()).status).toBe(200);
  });

  it('refuses a fault it cannot apply, naming the field', async () => {
    for (const [bad, field] of [[{ provider: 'Shop!', status: 503 }, 'provider'], [{ provider: 'shopify', status: 200 }, 'status'], [{ provider: 'shopify', afterCalls: -1 }, 'afterCalls'], [{ provider: 'shopify', nope: 1 }, 'nope']] as const) {
      const res = await faults('POST', bad);
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, `invalid fault: ${field}`]);
    }
    expect((await orders()).status).toBe(200);
  });
});
