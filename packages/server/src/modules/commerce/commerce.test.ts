import type { KeyholdEvent } from '@keyhold/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, addMember, bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { amazonSeller, shopifyStore, unleashedAccount } from '../../test-support/commerce.js';

/**
 * The commerce module against the sandbox: a tenant with two Shopify stores, an Amazon seller and
 * an Unleashed account, synced through the engine; the summary's figures are computed here again
 * from the sandbox's own data, independently of the module's code.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
// The sandbox's orders were placed hourly from 2026-10-01T00:00Z; "now" is 2026-11-03T12:00Z.
const NOW = Date.UTC(2026, 10, 3, 12);
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
  h.t.clock.set(NOW);
  h.t.services.syncs.useQueue(async () => undefined);
}, 60_000);
afterAll(() => h.close());

const run = async (acct: Account, connectionId: string, sync: string) => {
  const r = await h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync, trigger: 'manual' });
  expect(r.status, `${sync}: ${r.errorCode}`).toBe('succeeded');
  return r;
};
const get = (token: string, url: string) => h.t.app.inject({ method: 'GET', url, headers: bearer(token) });
const put = (token: string, body: unknown) => h.t.app.inject({ method: 'PUT', url: '/api/commerce/settings', headers: bearer(token), payload: body as object });
const lowStockEvents = (acct: Account) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('events').select(['subject', 'payload']).where('type', '=', 'commerce.low_stock').orderBy('id').execute());

/** The sales of one store over `days`, as this test reads Shopify's rule: created in the window, not cancelled, not voided; cents summed. */
function expectedSales(orders: Array<Record<string, any>>, days: number) {
  const from = NOW - days * 86_400_000;
  const counted = orders.filter((o) => Date.parse(o.created_at) >= from && Date.parse(o.created_at) <= NOW && o.cancelled_at === null && o.financial_status !== 'voided');
  const cents = counted.reduce((s, o) => s + Math.round(Number.parseFloat(o.total_price) * 100), 0);
  const cancelledInWindow = orders.filter((o) => Date.parse(o.created_at) >= from && Date.parse(o.created_at) <= NOW && o.cancelled_at !== null).length;
  return { orders: counted.length, sales: [{ currency: 'USD', amount: (cents / 100).toFixed(2) }], cancelledInWindow };
}

describe('commerce summary', () => {
  let owner: Account;
  let north: Awaited<ReturnType<typeof shopifyStore>>;
  let south: Awaited<ReturnType<typeof shopifyStore>>;
  let seller: Awaited<ReturnType<typeof amazonSeller>>;
  let ul: Awaited<ReturnType<typeof unleashedAccount>>;
  beforeAll(async () => {
    owner = await signup(h.t.app);
    // 800 + 760 orders across two stores of one tenant (more than one page each).
    north = await shopifyStore(h, owner, { label: 'north', orders: 800, products: 40 });
    south = await shopifyStore(h, owner, { label: 'south', orders: 760, products: 40 });
    seller = await amazonSeller(h, owner);
    ul = await unleashedAccount(h, owner);
    for (const s of [north, south]) for (const sync of ['orders', 'products', 'inventory_levels']) await run(owner, s.connectionId, sync);
    await run(owner, seller.connectionId, 'fba_inventory');
    await run(owner, ul.connectionId, 'stock_on_hand');
    await h.t.services.events.drain();
  }, 120_000);

  it("each store's sales of the last 7 and 30 days equal a hand computation from the sandbox's orders; the two stores are kept apart", async () => {
    const res = await get(owner.accessToken, '/api/commerce/summary');
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json().data;
    expect(data.asOf).toBe(new Date(NOW).toISOString());
    expect(data.stores.map((s: { label: string }) => s.label)).toEqual(['north', 'south']);
    for (const [i, s] of [north, south].entries()) {
      const orders = h.sandbox.shopifyOrders.list(s.store);
      const week = expectedSales(orders, 7);
      const month = expectedSales(orders, 30);
      // The rule is exercised: cancelled orders were placed in both windows, and the 30-day window leaves out October's first days.
      expect(week.cancelledInWindow).toBeGreaterThan(0);
      expect(month.orders).toBeLessThan(orders.filter((o) => o.cancelled_at === null && o.financial_status !== 'voided').length);
      expect(data.stores[i]).toEqual({
        connectionId: s.connectionId, label: i === 0 ? 'north' : 'south', shop: s.store,
        last7Days: { orders: week.orders, sales: week.sales }, last30Days: { orders: month.orders, sales: month.sales },
      });
    }
    // Different stores, different figures (their quantities differ by store).
    expect(data.stores[0].last30Days).not.toEqual(data.stores[1].last30Days);
  });

  it('low stock lists every item under the threshold across Shopify levels, Amazon fulfillable and Unleashed available quantities', async () => {
    const threshold = 10;
    const shopifyLow = [north, south].flatMap((s) => h.sandbox.shopifyCatalog.inventoryLevels(s.store).filter((l) => l.available < threshold).map((l) => ({ c: s.connectionId, id: `${l.inventory_item_id}:${l.location_id}`, q: l.available })));
    const amazonLow = h.sandbox.amazonInventory.list(seller.account).filter((x) => x.inventoryDetails.fulfillableQuantity < threshold).map((x) => ({ c: seller.connectionId, id: x.sellerSku, q: x.inventoryDetails.fulfillableQuantity }));
    const unleashedLow = h.sandbox.unleashedStock.list(ul.apiId).filter((x) => x.AvailableQty < threshold).map((x) => ({ c: ul.connectionId, id: x.ProductGuid, q: x.AvailableQty }));
    expect(shopifyLow.length && amazonLow.length && unleashedLow.length).toBeGreaterThan(0);
    const expected = [...shopifyLow, ...amazonLow, ...unleashedLow];
    const data = (await get(owner.accessToken, '/api/commerce/summary')).json().data;
    expect(data.lowStockThreshold).toBe(threshold);
    expect(data.lowStock.count).toBe(expected.length);
    const listed = data.lowStock.items as Array<{ connectionId: string; externalId: string; quantity: number; sku: string | null; model: string; label: string }>;
    expect(listed).toHaveLength(Math.min(500, expected.length));
    expect(listed.map((i) => i.quantity)).toEqual([...listed.map((i) => i.quantity)].sort((a, b) => a - b));
    const want = new Map(expected.map((e) => [`${e.c}/${e.id}`, e.q]));
    for (const item of listed) expect(want.get(`${item.connectionId}/${item.externalId}`), item.externalId).toBe(item.quantity);
    // A Shopify level is named by its variant's SKU, from the synced products.
    const level = listed.find((i) => i.model === 'shopify_inventory_levels')!;
    const itemId = Number(level.externalId.split(':')[0]);
    const store = level.connectionId === north.connectionId ? north.store : south.store;
    const variant = h.sandbox.shopifyCatalog.products(store).flatMap((p) => p.variants).find((v: { inventory_item_id: number }) => v.inventory_item_id === itemId);
    expect(level.sku).toBe(variant.sku);
  });

  it('a low item is told once (commerce.low_stock), not again on the next sync; back above the threshold re-arms it', async () => {
    // The first syncs tell their low items in one summary per connection, not one event each.
    const told = await lowStockEvents(owner);
    expect(told).toEqual([]);
    const summary = (await get(owner.accessToken, '/api/commerce/summary')).json().data;
    const summaries = await h.t.db.withTenant(owner.tenantId, (tx) => tx.selectFrom('events').select(['subject', 'payload']).where('type', '=', 'commerce.low_stock_summary').execute());
    expect(summaries).toHaveLength(4);
    expect(summaries.reduce((n, e) => n + (e.payload as { count: number }).count, 0)).toBe(summary.lowStock.count);
    const amazonSummary = summaries.find((e) => (e.payload as { model: string }).model === 'amazon_fba_inventory')!;
    expect(amazonSummary.subject).toMatchObject({ connectionId: seller.connectionId, provider: 'amazon-sp-api' });
    expect(amazonSummary.payload).toMatchObject({ reason: 'initial', told: 0, threshold: 10 });

    // Full runs again, nothing changed: no new event.
    for (const sync of ['inventory_levels']) await h.t.services.syncs.run({ tenantId: owner.tenantId, connectionId: north.connectionId, sync, trigger: 'manual', mode: 'full' });
    await run(owner, seller.connectionId, 'fba_inventory');
    await h.t.services.events.drain();
    expect(await lowStockEvents(owner)).toHaveLength(told.length);

    // SKU-0 (fulfillable 0) goes back to 50: re-armed, no event; then down to 3: told again. SKU-3 (12) drops to 5: told.
    const at = () => new Date(Date.now() + 1000);
    h.sandbox.amazonInventory.set(seller.account, 'SKU-0', 50, at());
    await run(owner, seller.connectionId, 'fba_inventory');
    await h.t.services.events.drain();
    expect(await lowStockEvents(owner)).toHaveLength(told.length);
    const armed = await h.t.db.withTenant(owner.tenantId, (tx) => tx.selectFrom('commerce_low_stock_alerts').select('external_id').where('connection_id', '=', seller.connectionId).where('external_id', '=', 'SKU-0').execute());
    expect(armed).toEqual([]);

    h.sandbox.amazonInventory.set(seller.account, 'SKU-0', 3, at());
    h.sandbox.amazonInventory.set(seller.account, 'SKU-3', 5, at());
    await run(owner, seller.connectionId, 'fba_inventory');
    await h.t.services.events.drain();
    const after = await lowStockEvents(owner);
    expect(after.slice(told.length).map((e) => [(e.payload as { externalId: string }).externalId, (e.payload as { quantity: number }).quantity]).sort()).toEqual([['SKU-0', 3], ['SKU-3', 5]]);

    // A Shopify level crossing under is told with its SKU.
    const high = h.sandbox.shopifyCatalog.inventoryLevels(north.store).find((l) => l.available >= 30)!;
    h.sandbox.shopifyCatalog.setAvailable(north.store, high.inventory_item_id, high.location_id, 1, at());
    await run(owner, north.connectionId, 'inventory_levels');
    await h.t.services.events.drain();
    const last = (await lowStockEvents(owner)).at(-1)!;
    const sku = h.sandbox.shopifyCatalog.products(north.store).flatMap((p) => p.variants).find((v: { inventory_item_id: number }) => v.inventory_item_id === high.inventory_item_id).sku;
    expect(last.payload).toEqual({ model: 'shopify_inventory_levels', externalId: `${high.inventory_item_id}:${high.location_id}`, sku, quantity: 1, threshold: 10 });
  });

  it("a SKU in the seller's own words (spaces, any script) is told too, and the tenant's other events still drain", async () => {
    const sku = 'Blue mug 12 oz – ünï';
    h.sandbox.amazonInventory.add(seller.account, sku, 2, new Date(Date.now() + 1000));
    await run(owner, seller.connectionId, 'fba_inventory');
    await h.t.services.events.drain();
    expect((await lowStockEvents(owner)).at(-1)!.payload).toEqual({ model: 'amazon_fba_inventory', externalId: sku, sku: null, quantity: 2, threshold: 10 });
    const pending = await h.t.db.withTenant(owner.tenantId, (tx) => tx.selectFrom('event_queue').innerJoin('events', (j) => j.onRef('events.tenant_id', '=', 'event_queue.tenant_id').onRef('events.id', '=', 'event_queue.id')).select('events.id').where('events.type', '!=', 'commerce.low_stock').execute());
    expect(pending).toEqual([]);
  });

  it('the same sync event handled by parallel drains tells each item once', async () => {
    const before = (await lowStockEvents(owner)).length;
    h.sandbox.unleashedStock.set(ul.apiId, 'UL-0005', 1, new Date(Date.now() + 1000));
    h.sandbox.unleashedStock.set(ul.apiId, 'UL-0006', 2, new Date(Date.now() + 1000));
    await run(owner, ul.connectionId, 'stock_on_hand');
    const events = (await get(owner.accessToken, '/api/events?type=sync.succeeded&limit=100')).json().data as KeyholdEvent[];
    const event = events.find((e) => 'connectionId' in e.subject && e.subject.connectionId === ul.connectionId && e.payload.mode === 'incremental')!;
    expect(event).toBeDefined();
    await Promise.all(Array.from({ length: 6 }, () => h.t.db.withTenant(owner.tenantId, (tx) => h.t.services.commerce.onEvents(tx, [event], () => undefined))));
    const added = (await lowStockEvents(owner)).slice(before);
    expect(added.map((e) => (e.payload as { sku: string }).sku).sort()).toEqual(['UL-0005', 'UL-0006']);
    await h.t.services.events.drain();
    expect(await lowStockEvents(owner)).toHaveLength(before + 2);
  });

  it('settings: members read, admins change the threshold (people only); bad input is refused and nothing is written', async () => {
    const member = await addMember(h.t.app, owner, 'member');
    const admin = await addMember(h.t.app, owner, 'admin');
    expect((await get(member, '/api/commerce/settings')).json().data).toEqual({ lowStockThreshold: 10 });
    expect((await get(member, '/api/commerce/summary')).statusCode).toBe(200);
    expect((await put(member, { lowStockThreshold: 3 })).statusCode).toBe(403);
    for (const bad of [{ lowStockThreshold: -1 }, { lowStockThreshold: 1.5 }, { lowStockThreshold: '5' }, {}, { lowStockThreshold: 5, extra: 1 }]) {
      const res = await put(admin, bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    expect((await get(member, '/api/commerce/settings')).json().data).toEqual({ lowStockThreshold: 10 });
    const { key } = await createApiKey(h.t.app, h.t.clock, owner, { scopes: ['records:read'] });
    const { key: other } = await createApiKey(h.t.app, h.t.clock, owner, { scopes: ['proxy'] });
    expect((await get(key, '/api/commerce/summary')).statusCode).toBe(200);
    expect((await get(other, '/api/commerce/summary')).statusCode).toBe(403);
    expect((await put(key, { lowStockThreshold: 3 })).statusCode).toBe(403);

    const saved = await put(admin, { lowStockThreshold: 3 });
    expect([saved.statusCode, saved.json().data]).toEqual([200, { lowStockThreshold: 3 }]);
    const data = (await get(key, '/api/commerce/summary')).json().data;
    expect(data.lowStockThreshold).toBe(3);
    expect(data.lowStock.items.every((i: { quantity: number }) => i.quantity < 3)).toBe(true);
    expect(data.lowStock.count).toBeGreaterThan(0);
  });
});

describe('commerce tenant isolation', () => {
  it("another tenant sees none of the stores, stock, alerts or settings of the first; its own store stays out of the first's summary", async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    const aStore = await shopifyStore(h, a, { label: 'north', orders: 200 });
    await run(a, aStore.connectionId, 'orders');
    await run(a, aStore.connectionId, 'inventory_levels');
    await h.t.services.events.drain();
    expect((await put(a.accessToken, { lowStockThreshold: 25 })).statusCode).toBe(200);

    const bView = (await get(b.accessToken, '/api/commerce/summary')).json().data;
    expect(bView).toMatchObject({ stores: [], lowStock: { count: 0, items: [] }, lowStockThreshold: 10 });
    const bStore = await shopifyStore(h, b, { label: 'north', orders: 150 });
    await run(b, bStore.connectionId, 'orders');
    const aView = (await get(a.accessToken, '/api/commerce/summary')).json().data;
    expect(aView.stores.map((s: { connectionId: string }) => s.connectionId)).toEqual([aStore.connectionId]);
    expect(aView.lowStock.items.every((i: { connectionId: string }) => i.connectionId === aStore.connectionId)).toBe(true);
    expect(aView.lowStock.count).toBeGreaterThan(0);
    const bAgain = (await get(b.accessToken, '/api/commerce/summary')).json().data;
    expect(bAgain.stores.map((s: { connectionId: string }) => s.connectionId)).toEqual([bStore.connectionId]);
    const bMonth = expectedSales(h.sandbox.shopifyOrders.list(bStore.store), 30);
    expect(bAgain.stores[0].last30Days).toEqual({ orders: bMonth.orders, sales: bMonth.sales });

    // Under B's tenant context the tables show nothing of A (RLS, even with no tenant filter in the query).
    const seen = await h.t.db.withTenant(b.tenantId, async (tx) => ({
      alerts: await tx.selectFrom('commerce_low_stock_alerts').selectAll().execute(),
      settings: await tx.selectFrom('commerce_settings').selectAll().execute(),
    }));
    expect(seen).toEqual({ alerts: [], settings: [] });
    expect((await h.t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('commerce_low_stock_alerts').selectAll().execute())).length).toBeGreaterThan(0);
  });
});
