import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { amazonSeller, shopifyStore, unleashedAccount } from '../../test-support/commerce.js';
import { createSyncRunner } from '../../domains/syncs/run.js';
import { createSyncsRepo } from '../../domains/syncs/syncs.repo.js';
import { adapterFor } from '../../providers/registry.js';

/**
 * The commerce readers against the sandbox: each full, then incremental, with more records than
 * one page, through the proxy's rate-limited path (the sandbox never has to answer 429).
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
  h.t.services.syncs.useQueue(async () => undefined);
}, 60_000);
afterAll(() => h.close());

const run = (acct: Account, connectionId: string, sync: string) => h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync, trigger: 'manual' });
const stored = (acct: Account, connectionId: string, model: string) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('records').select(['external_id', 'payload', 'change_seq', 'deleted_at']).where('connection_id', '=', connectionId).where('model', '=', model).execute());
const asked = (provider: string, path: RegExp) => h.sandbox.requests().filter((r) => r.provider === provider && path.test(r.path));
const throttled = (provider: string) => h.sandbox.requests().filter((r) => r.provider === provider && r.status === 429);

describe('Shopify catalog readers', () => {
  it('products: a full run reads every product with its variants in cursor pages; an incremental run asks with updated_at_min and rewrites only the renamed one', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await shopifyStore(h, acct, { label: 'main', products: 300 });
    expect(await run(acct, connectionId, 'products')).toMatchObject({ status: 'succeeded', mode: 'full', added: 300, pages: 2, providerCalls: 2 });
    const rows = await stored(acct, connectionId, 'shopify_products');
    expect(rows).toHaveLength(300);
    const p7 = rows.find((r) => r.external_id === '7007')!.payload as { variants: Array<{ sku: string; inventory_item_id: number }> };
    expect(p7.variants.map((v) => [v.sku, v.inventory_item_id])).toEqual([['SKU-7-0', 8014], ['SKU-7-1', 8015]]);

    expect(h.sandbox.shopifyCatalog.updateProduct(store, 7100, 'Renamed', new Date())).toBe(true);
    expect(await run(acct, connectionId, 'products')).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 1, pages: 1 });
    expect(asked('shopify', new RegExp(`${store}.*/products\\.json$`)).at(-1)!.query).toMatch(/updated_at_min=/);
    expect((await stored(acct, connectionId, 'shopify_products')).find((r) => r.external_id === '7100')!.payload).toMatchObject({ title: 'Renamed' });
    expect(throttled('shopify')).toEqual([]);
  });

  it('inventory levels: listed per location group (Shopify needs location_ids), paged, keyed item:location; incremental reads only changed levels', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await shopifyStore(h, acct, { label: 'main', products: 300 });
    // 300 products × 2 variants × 2 locations = 1,200 levels: one location group, 5 pages of 250 (+1 call for the locations).
    expect(await run(acct, connectionId, 'inventory_levels')).toMatchObject({ status: 'succeeded', mode: 'full', added: 1200, pages: 5, providerCalls: 6 });
    const rows = await stored(acct, connectionId, 'shopify_inventory_levels');
    expect(rows).toHaveLength(1200);
    const expected = h.sandbox.shopifyCatalog.inventoryLevels(store).find((l) => l.inventory_item_id === 8123 && l.location_id === 6002)!;
    expect(rows.find((r) => r.external_id === '8123:6002')!.payload).toMatchObject({ available: expected.available, inventory_item_id: 8123, location_id: 6002 });
    const levelCalls = asked('shopify', new RegExp(`${store}.*/inventory_levels\\.json$`));
    expect(levelCalls.filter((r) => /location_ids=6001%2C6002/.test(r.query))).toHaveLength(1);
    expect(levelCalls).toHaveLength(5);

    h.sandbox.shopifyCatalog.setAvailable(store, 8123, 6002, 1, new Date());
    h.sandbox.shopifyCatalog.setAvailable(store, 8200, 6001, 0, new Date());
    const second = await run(acct, connectionId, 'inventory_levels');
    expect(second).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 2, deleted: 0 });
    expect(asked('shopify', new RegExp(`${store}.*/inventory_levels\\.json$`)).at(-1)!.query).toMatch(/updated_at_min=/);
    const after = await stored(acct, connectionId, 'shopify_inventory_levels');
    expect(after.find((r) => r.external_id === '8123:6002')!.payload).toMatchObject({ available: 1 });
    expect(throttled('shopify')).toEqual([]);
  });

  it('a store with more than 50 locations is read in groups of at most 50 location ids (Shopify refuses more)', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await shopifyStore(h, acct, { label: 'many' });
    h.sandbox.shopifyCatalog.addLocations(store, 62);
    // 30 products × 2 variants = 60 items at 62 locations: 3,720 levels.
    const r = await run(acct, connectionId, 'inventory_levels');
    expect(r).toMatchObject({ status: 'succeeded', mode: 'full', added: 3720 });
    const firsts = asked('shopify', new RegExp(`${store}.*/inventory_levels\\.json$`)).filter((c) => /location_ids=/.test(c.query));
    expect(firsts.map((c) => new URLSearchParams(c.query).get('location_ids')!.split(',').length)).toEqual([50, 12]);
    expect(firsts.every((c) => c.status === 200)).toBe(true);
    const levels = h.sandbox.shopifyCatalog.inventoryLevels(store);
    const rows = await stored(acct, connectionId, 'shopify_inventory_levels');
    expect(new Set(rows.map((x) => x.external_id))).toEqual(new Set(levels.map((l) => `${l.inventory_item_id}:${l.location_id}`)));
  });
});

describe('Amazon FBA inventory reader', () => {
  it("reads the connection's marketplace with details, following nextToken; incremental passes startDateTime on every page", async () => {
    const acct = await signup(h.t.app);
    const { account, connectionId } = await amazonSeller(h, acct);
    expect(await run(acct, connectionId, 'fba_inventory')).toMatchObject({ status: 'succeeded', mode: 'full', added: 120, pages: 3, providerCalls: 3 });
    const rows = await stored(acct, connectionId, 'amazon_fba_inventory');
    expect(rows).toHaveLength(120);
    expect(rows.find((r) => r.external_id === 'SKU-3')!.payload).toMatchObject({ asin: 'B0SANDBOX003', inventoryDetails: { fulfillableQuantity: 12 }, totalQuantity: 15 });
    const calls = asked('amazon-sp-api', /^\/fba\/inventory\/v1\/summaries$/).slice(-3);
    for (const c of calls) expect(c.query).toMatch(/details=true&granularityType=Marketplace&granularityId=A1F83G8C2ARO7P&marketplaceIds=A1F83G8C2ARO7P/);
    expect(calls.map((c) => c.region)).toEqual(['eu', 'eu', 'eu']);
    expect(calls.slice(1).every((c) => /nextToken=/.test(c.query))).toBe(true);

    // 60 summaries change: more than one page (50) of changes.
    const at = new Date();
    for (let i = 0; i < 60; i++) h.sandbox.amazonInventory.set(account, `SKU-${i}`, 100 + i, at);
    expect(await run(acct, connectionId, 'fba_inventory')).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 60, pages: 2 });
    const incremental = asked('amazon-sp-api', /^\/fba\/inventory\/v1\/summaries$/).slice(-2);
    expect(incremental.every((c) => /startDateTime=/.test(c.query) && c.status === 200)).toBe(true);
    expect(throttled('amazon-sp-api')).toEqual([]);
  });
});

describe('Amazon FBA inventory reader: checkpoints and marketplace', () => {
  const lastRun = (acct: Account, connectionId: string) =>
    h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').selectAll().where('connection_id', '=', connectionId).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow());

  it('summaries without a time (Amazon leaves lastUpdatedTime empty for some) leave no checkpoint: the next run is full, never an "incremental" run reading everything', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await amazonSeller(h, acct);
    // Amazon's answers as they come for such a seller: no summary has a time.
    const runner = createSyncRunner({
      repo: createSyncsRepo(h.t.db.kysely), tenancy: h.t.db, store: h.t.services.store, adapterFor, clock: h.t.clock,
      outbox: { append: async () => 'not-recorded' }, // this run's event is not what the test is about
      tenantFetch: async (...a) => {
        const res = await h.t.services.tenantClients.fetch(...a);
        const body = (await res.json()) as { payload?: { inventorySummaries?: Array<Record<string, unknown>> } };
        for (const s of body.payload?.inventorySummaries ?? []) delete s.lastUpdatedTime;
        return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
      },
    });
    const again = () => runner.run({ tenantId: acct.tenantId, connectionId, sync: 'fba_inventory', trigger: 'manual' });
    expect(await again()).toMatchObject({ status: 'succeeded', mode: 'full', added: 120 });
    expect((await lastRun(acct, connectionId)).checkpoint).toBeNull();
    expect(await again()).toMatchObject({ status: 'succeeded', mode: 'full', added: 0 });
    expect(asked('amazon-sp-api', /^\/fba\/inventory\/v1\/summaries$/).slice(-3).every((c) => !/startDateTime=/.test(c.query))).toBe(true);
  });

  it('an empty checkpoint already in the history counts as none: the next run is full', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await amazonSeller(h, acct);
    expect(await run(acct, connectionId, 'fba_inventory')).toMatchObject({ status: 'succeeded', mode: 'full' });
    const last = await lastRun(acct, connectionId);
    await h.t.db.withTenant(acct.tenantId, (tx) => tx.updateTable('sync_runs').set({ checkpoint: '' }).where('id', '=', last.id).execute());
    expect(await run(acct, connectionId, 'fba_inventory')).toMatchObject({ status: 'succeeded', mode: 'full' });
  });

  it('a connection whose marketplace id Keyhold does not know fails the run with config_missing (never reads another marketplace)', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await amazonSeller(h, acct);
    await h.t.db.withTenant(acct.tenantId, (tx) =>
      tx.updateTable('connections').set({ config: sql`config || jsonb_build_object('marketplaceId', 'AXXXXXXXXXXXXX')` }).where('id', '=', connectionId).execute());
    const calls = asked('amazon-sp-api', /^\/fba\/inventory\/v1\/summaries$/).length;
    expect(await run(acct, connectionId, 'fba_inventory')).toMatchObject({ status: 'failed', errorCode: 'config_missing', providerCalls: 0 });
    expect(asked('amazon-sp-api', /^\/fba\/inventory\/v1\/summaries$/)).toHaveLength(calls);
  });
});

describe('Unleashed stock on hand reader', () => {
  it('pages /StockOnHand/{page} until NumberOfPages; incremental asks modifiedSince and rewrites only the changed', async () => {
    const acct = await signup(h.t.app);
    const { apiId, connectionId } = await unleashedAccount(h, acct);
    expect(await run(acct, connectionId, 'stock_on_hand')).toMatchObject({ status: 'succeeded', mode: 'full', added: 1250, pages: 2, providerCalls: 2 });
    const rows = await stored(acct, connectionId, 'unleashed_stock_on_hand');
    expect(rows).toHaveLength(1250);
    const one = h.sandbox.unleashedStock.list(apiId)[17]!;
    expect(rows.find((r) => r.external_id === one.ProductGuid)!.payload).toMatchObject({ ProductCode: 'UL-0017', AvailableQty: one.AvailableQty });
    expect(asked('unleashed', /^\/StockOnHand\/\d+$/).slice(-2).map((r) => [r.path, r.status])).toEqual([['/StockOnHand/1', 200], ['/StockOnHand/2', 200]]);

    for (const code of ['UL-0001', 'UL-0500', 'UL-1200']) h.sandbox.unleashedStock.set(apiId, code, 2, new Date());
    expect(await run(acct, connectionId, 'stock_on_hand')).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 3, pages: 1 });
    expect(asked('unleashed', /^\/StockOnHand\/\d+$/).at(-1)!.query).toMatch(/modifiedSince=2026-/);
    expect(throttled('unleashed')).toEqual([]);
  });
});
