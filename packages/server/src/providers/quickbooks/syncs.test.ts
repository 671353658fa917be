import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, signup } from '../../test-support/accounts.js';
import { connectAccounting } from '../../test-support/accounting.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { createSyncRunner } from '../../domains/syncs/run.js';
import { createSyncsRepo } from '../../domains/syncs/syncs.repo.js';
import { adapterFor } from '../registry.js';

/** The QuickBooks invoices and bills readers against the sandbox's companies, through the sync engine. */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
}, 60_000);
afterAll(() => h.close());

const run = (acct: Account, connectionId: string, sync: 'invoices' | 'bills', mode?: 'full' | 'incremental') =>
  h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync, trigger: 'manual', ...(mode ? { mode } : {}) });
const rows = (acct: Account, connectionId: string, model: string) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('records').selectAll().where('connection_id', '=', connectionId).where('model', '=', model).execute());
const queries = (realm: string) => h.sandbox.requests().filter((r) => r.provider === 'quickbooks' && r.path === `/v3/company/${realm}/query`).map((r) => new URLSearchParams(r.query).get('query')!);

describe('QuickBooks invoices and bills readers', () => {
  it("a full run pages with STARTPOSITION/MAXRESULTS through the connection's company; an incremental run filters on MetaData.LastUpdatedTime and rewrites only what changed", async () => {
    const acct = await signup(h.t.app);
    const { connectionId, account: realm } = await connectAccounting(h, acct, 'quickbooks');
    const invoices = h.sandbox.quickbooksBooks.invoices(realm) as Array<{ Id: string; Balance: number; MetaData: { LastUpdatedTime: string } }>;
    expect(invoices).toHaveLength(1200);

    expect(await run(acct, connectionId, 'invoices')).toMatchObject({ status: 'succeeded', mode: 'full', added: 1200, pages: 2, providerCalls: 2 });
    expect(queries(realm)).toEqual(['SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000', 'SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000']);
    expect(await run(acct, connectionId, 'bills')).toMatchObject({ status: 'succeeded', mode: 'full', added: 360, pages: 1 });
    const before = new Map((await rows(acct, connectionId, 'quickbooks_invoices')).map((r) => [r.external_id, r]));
    expect(before.get('105')!.payload).toMatchObject({ Id: '105', Balance: invoices[5]!.Balance, MetaData: { LastUpdatedTime: invoices[5]!.MetaData.LastUpdatedTime } });
    const checkpoint = (await lastRun(acct, 'invoices')).checkpoint!;
    expect(checkpoint).toBe(new Date(Math.max(...invoices.map((i) => Date.parse(i.MetaData.LastUpdatedTime)))).toISOString());

    // Customers pay two invoices (10 min ago: before the engine's 5-minute skew margin).
    const at = new Date(h.t.clock().getTime() - 10 * 60_000);
    for (const id of ['101', '1150']) expect(h.sandbox.quickbooksBooks.pay(realm, 'invoice', id, at)).toBe(true);
    expect(await run(acct, connectionId, 'invoices')).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 2, deleted: 0, pages: 1 });
    expect(queries(realm).at(-1)).toBe(`SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '${checkpoint.slice(0, 19)}+00:00' ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000`);
    const after = await rows(acct, connectionId, 'quickbooks_invoices');
    expect(after.filter((r) => r.change_seq !== before.get(r.external_id)!.change_seq).map((r) => r.external_id).sort()).toEqual(['101', '1150']);
    expect(after.find((r) => r.external_id === '101')!.payload).toMatchObject({ Balance: 0, SyncToken: '1' });
    expect((await lastRun(acct, 'invoices')).checkpoint).toBe(at.toISOString());
    // Bills untouched: an incremental bills run rewrites nothing.
    expect(await run(acct, connectionId, 'bills')).toMatchObject({ status: 'succeeded', mode: 'incremental', updated: 0, added: 0 });
  });

  it('a deleted invoice (which the query endpoint stops listing) is marked deleted only once two successive successful full runs miss it', async () => {
    const acct = await signup(h.t.app);
    const { connectionId, account: realm } = await connectAccounting(h, acct, 'quickbooks');
    await run(acct, connectionId, 'invoices');
    expect(h.sandbox.quickbooksBooks.remove(realm, 'invoice', '120')).toBe(true);
    expect(await run(acct, connectionId, 'invoices')).toMatchObject({ status: 'succeeded', mode: 'incremental', deleted: 0 });
    expect(await run(acct, connectionId, 'invoices', 'full')).toMatchObject({ status: 'succeeded', mode: 'full', deleted: 0, updated: 0 });
    expect(await run(acct, connectionId, 'invoices', 'full')).toMatchObject({ status: 'succeeded', mode: 'full', deleted: 1, updated: 0 });
    const deleted = (await rows(acct, connectionId, 'quickbooks_invoices')).filter((r) => r.deleted_at).map((r) => r.external_id);
    expect(deleted).toEqual(['120']);
  });

  it('a scheduled run is full once the last full run is older than the reconciliation interval (24 h): a deleted invoice is then marked deleted', async () => {
    const acct = await signup(h.t.app);
    const { connectionId, account: realm } = await connectAccounting(h, acct, 'quickbooks');
    await run(acct, connectionId, 'invoices');
    expect(h.sandbox.quickbooksBooks.remove(realm, 'invoice', '130')).toBe(true);
    const scheduled = () => h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync: 'invoices', trigger: 'schedule' });
    h.t.clock.advance(23 * 3_600_000);
    expect(await scheduled()).toMatchObject({ status: 'succeeded', mode: 'incremental', deleted: 0 });
    // A change notice within the interval stays incremental too.
    expect(await h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync: 'invoices', trigger: 'webhook', mode: 'incremental' }))
      .toMatchObject({ status: 'succeeded', mode: 'incremental', deleted: 0 });
    h.t.clock.advance(2 * 3_600_000);
    // Full: the record is missing for the first time. QuickBooks pages by offset, so one miss is
    // not yet a delete; the next full run (a day later) confirms it.
    expect(await scheduled()).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await scheduled()).toMatchObject({ status: 'succeeded', mode: 'incremental', deleted: 0 });
    h.t.clock.advance(25 * 3_600_000);
    expect(await scheduled()).toMatchObject({ status: 'succeeded', mode: 'full', deleted: 1 });
    expect((await rows(acct, connectionId, 'quickbooks_invoices')).filter((r) => r.deleted_at).map((r) => r.external_id)).toEqual(['130']);
  });

  it('offset paging: an invoice deleted on a page already read shifts a live one past the run; it is not marked deleted, and the deleted one is after two full runs miss it', async () => {
    const acct = await signup(h.t.app);
    const { connectionId, account: realm } = await connectAccounting(h, acct, 'quickbooks');
    await run(acct, connectionId, 'invoices');
    // The bookkeeper deletes invoice 150 (page 1) right after page 1 was read: the invoice at
    // position 1001 moves to 1000, which page 2 (from 1001) no longer covers.
    let removeAfterPage1 = true;
    const runner = createSyncRunner({
      repo: createSyncsRepo(h.t.db.kysely), tenancy: h.t.db, store: h.t.services.store, adapterFor, clock: h.t.clock,
      outbox: { append: async () => 'not-recorded' }, // this run's event is not what the test is about
      tenantFetch: async (...a) => {
        const res = await h.t.services.tenantClients.fetch(...a);
        if (removeAfterPage1 && a[2].includes('STARTPOSITION+1+')) {
          removeAfterPage1 = false;
          expect(h.sandbox.quickbooksBooks.remove(realm, 'invoice', '150')).toBe(true);
        }
        return res;
      },
    });
    const full = () => runner.run({ tenantId: acct.tenantId, connectionId, sync: 'invoices', trigger: 'manual', mode: 'full' });
    expect(await full()).toMatchObject({ status: 'succeeded', mode: 'full', pages: 2, added: 0, deleted: 0 });
    expect(removeAfterPage1).toBe(false);
    const live = async () => (await rows(acct, connectionId, 'quickbooks_invoices')).filter((r) => !r.deleted_at).map((r) => r.external_id);
    expect(await live()).toHaveLength(1200);
    expect(await full()).toMatchObject({ status: 'succeeded', mode: 'full', deleted: 0 });
    expect(await full()).toMatchObject({ status: 'succeeded', mode: 'full', deleted: 1 });
    expect((await live()).sort()).toEqual(h.sandbox.quickbooksBooks.invoices(realm).map((r) => r.Id).sort());
    expect((await rows(acct, connectionId, 'quickbooks_invoices')).filter((r) => r.deleted_at).map((r) => r.external_id)).toEqual(['150']);
  });

  it("another company's realm is never asked: each connection reads its own company", async () => {
    const acct = await signup(h.t.app);
    const a = await connectAccounting(h, acct, 'quickbooks', 'a');
    const b = await connectAccounting(h, acct, 'quickbooks', 'b');
    expect(a.account).not.toBe(b.account);
    h.sandbox.quickbooksBooks.pay(b.account, 'bill', '501', new Date(h.t.clock().getTime() - 10 * 60_000));
    await run(acct, a.connectionId, 'bills');
    await run(acct, b.connectionId, 'bills');
    const balance = async (c: string) => (await rows(acct, c, 'quickbooks_bills')).find((r) => r.external_id === '501')!.payload.Balance;
    expect(await balance(a.connectionId)).toBe(h.sandbox.quickbooksBooks.bills(a.account).find((r) => r.Id === '501')!.Balance);
    expect(await balance(b.connectionId)).toBe(0);
  });
});

async function lastRun(acct: Account, sync: string) {
  return h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').selectAll().where('sync', '=', sync).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow());
}
