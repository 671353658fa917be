import { randomUUID } from 'node:crypto';
import type { KeyholdEvent } from '@keyhold/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncsRepo } from '../../domains/syncs/syncs.repo.js';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { shopifyStore, unleashedAccount } from '../../test-support/commerce.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * Low-stock alerts at scale and across runs: stock records are written through the records repo as
 * a sync writes them, and the module is handed the sync's `sync.succeeded` event as a drain would.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
  h.t.services.syncs.useQueue(async () => undefined);
}, 60_000);
afterAll(() => h.close());

const MODEL = 'unleashed_stock_on_hand';
type Stock = { id: string; qty: number };

/** One "run" of the Unleashed stock sync: writes the items and returns its sync.succeeded event (its change-feed range). */
async function runWriting(acct: Account, connectionId: string, items: Stock[], o: { trigger?: 'schedule' | 'reset'; mode?: 'full' | 'incremental' } = {}): Promise<KeyholdEvent> {
  const repo = createSyncsRepo(h.t.db.kysely);
  const scope = { tenantId: acct.tenantId, connectionId, model: MODEL };
  const seen = { runId: randomUUID(), at: h.t.clock() };
  const maxSeq = () => h.t.db.withTenant(acct.tenantId, async (tx) =>
    String((await tx.selectFrom('records').select((eb) => eb.fn.max('change_seq').as('m')).where('tenant_id', '=', acct.tenantId).executeTakeFirst())?.m ?? '0'));
  const cursorFrom = await maxSeq();
  await h.t.db.withTenant(acct.tenantId, async (tx) => {
    await repo.lockTenantFeed(tx, acct.tenantId);
    for (let i = 0; i < items.length; i += 1000) {
      const page = items.slice(i, i + 1000).map((s) => {
        const json = JSON.stringify({ ProductGuid: s.id, ProductCode: s.id, QtyOnHand: s.qty, AvailableQty: s.qty, TotalCost: 0 });
        return { id: s.id, json, hash: Buffer.from(json).toString('hex').slice(-64).padStart(64, '0') };
      });
      await repo.writePage(tx, scope, page, seen, o.trigger === 'reset');
    }
  });
  const cursorTo = await maxSeq();
  return {
    id: randomUUID(), type: 'sync.succeeded', createdAt: h.t.clock().toISOString(),
    subject: { connectionId, provider: 'unleashed', label: 'default' } as KeyholdEvent['subject'],
    payload: { syncRunId: seen.runId, sync: 'stock_on_hand', trigger: o.trigger ?? 'schedule', mode: o.mode ?? 'full', added: items.length, updated: 0, deleted: 0, pages: 1, cursorFrom, cursorTo },
  };
}
const drain = (acct: Account, events: KeyholdEvent[]) => h.t.db.withTenant(acct.tenantId, (tx) => h.t.services.commerce.onEvents(tx, events, () => undefined));
const alertEvents = (acct: Account) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('events').select(['type', 'payload']).where('type', 'like', 'commerce.low_stock%').orderBy('id').execute());
const items = (prefix: string, n: number, qty: number) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${String(i).padStart(5, '0')}`, qty }));

describe('low-stock alerts', () => {
  it('a first sync of 5,000 empty items records them silently and tells one summary; a later run tells at most 100 items, then one summary', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await unleashedAccount(h, acct);
    await drain(acct, [await runWriting(acct, connectionId, items('A', 5000, 0))]);
    const first = await alertEvents(acct);
    expect(first.length).toBeLessThanOrEqual(1);
    expect(first.map((e) => e.type)).toEqual(['commerce.low_stock_summary']);
    expect(first[0]!.payload).toMatchObject({ model: MODEL, reason: 'initial', count: 5000, told: 0, threshold: 10 });
    expect((first[0]!.payload as { lowest: unknown[] }).lowest).toHaveLength(20);
    const rows = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('commerce_low_stock_alerts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow());
    expect(Number(rows.n)).toBe(5000);
    // Nothing changed: nothing told. 300 new empty items: 100 told one by one, then one summary of all 300.
    await drain(acct, [await runWriting(acct, connectionId, items('A', 5000, 0))]);
    expect(await alertEvents(acct)).toHaveLength(1);
    await drain(acct, [await runWriting(acct, connectionId, items('B', 300, 0), { mode: 'incremental' })]);
    const later = (await alertEvents(acct)).slice(1);
    expect(later.filter((e) => e.type === 'commerce.low_stock')).toHaveLength(100);
    expect(later.filter((e) => e.type === 'commerce.low_stock_summary').map((e) => e.payload)).toEqual([expect.objectContaining({ reason: 'capped', count: 300, told: 100 })]);
  });

  it('an item back above the threshold and down again between two drains is told again (runs through the engine)', async () => {
    const acct = await signup(h.t.app);
    const ul = await unleashedAccount(h, acct);
    const run = async () => expect(await h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId: ul.connectionId, sync: 'stock_on_hand', trigger: 'manual' })).toMatchObject({ status: 'succeeded' });
    await run();
    await h.t.services.events.drain();
    const low = h.sandbox.unleashedStock.list(ul.apiId).find((x) => x.AvailableQty < 10)!;
    const toldOf = async () => (await alertEvents(acct)).filter((e) => e.type === 'commerce.low_stock' && (e.payload as { sku: string }).sku === low.ProductCode);
    const before = (await toldOf()).length;
    // Up to 50 (a run), down to 3 (a run), then one drain.
    h.sandbox.unleashedStock.set(ul.apiId, low.ProductCode, 50, new Date(Date.now() + 1000));
    await run();
    h.sandbox.unleashedStock.set(ul.apiId, low.ProductCode, 3, new Date(Date.now() + 2000));
    await run();
    await h.t.services.events.drain();
    const after = await toldOf();
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)!.payload).toMatchObject({ quantity: 3, threshold: 10 });
  });

  it('a changed threshold re-evaluates told items: told at 10, the threshold drops to 2, the item drops to 1: told again', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await unleashedAccount(h, acct);
    await drain(acct, [await runWriting(acct, connectionId, [{ id: 'SKU-1', qty: 50 }])]);
    await drain(acct, [await runWriting(acct, connectionId, [{ id: 'SKU-1', qty: 5 }], { mode: 'incremental' })]);
    expect(await alertEvents(acct)).toHaveLength(1);
    expect((await h.t.app.inject({ method: 'PUT', url: '/api/commerce/settings', headers: bearer(acct.accessToken), payload: { lowStockThreshold: 2 } })).statusCode).toBe(200);
    await drain(acct, [await runWriting(acct, connectionId, [{ id: 'SKU-1', qty: 1 }], { mode: 'incremental' })]);
    const all = await alertEvents(acct);
    expect(all).toHaveLength(2);
    expect(all[1]!.payload).toMatchObject({ externalId: 'SKU-1', quantity: 1, threshold: 2 });
  });

  it('the summary leaves out inactive Shopify stores', async () => {
    const acct = await signup(h.t.app);
    const on = await shopifyStore(h, acct, { label: 'on' });
    const off = await shopifyStore(h, acct, { label: 'off' });
    await h.t.db.withTenant(acct.tenantId, (tx) => tx.updateTable('connections').set({ is_active: false }).where('id', '=', off.connectionId).execute());
    const data = (await h.t.app.inject({ method: 'GET', url: '/api/commerce/summary', headers: bearer(acct.accessToken) })).json().data;
    expect(data.stores.map((s: { connectionId: string }) => s.connectionId)).toEqual([on.connectionId]);
  });
});
