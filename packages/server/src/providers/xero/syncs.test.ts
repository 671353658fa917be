import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, signup } from '../../test-support/accounts.js';
import { connectAccounting } from '../../test-support/accounting.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { xeroDateMs } from './syncs.js';

/** The Xero invoices reader against the sandbox's organisations (520 invoices each), through the sync engine. */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
}, 60_000);
afterAll(() => h.close());

const run = (acct: Account, connectionId: string, mode?: 'full' | 'incremental') =>
  h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync: 'invoices', trigger: 'manual', ...(mode ? { mode } : {}) });
const rows = (acct: Account, connectionId: string) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('records').selectAll().where('connection_id', '=', connectionId).where('model', '=', 'xero_invoices').execute());
const invoiceCalls = (org: string) => h.sandbox.requests().filter((r) => r.provider === 'xero' && r.path === '/api.xro/2.0/Invoices' && r.headers['xero-tenant-id'] === org);

describe('Xero invoices reader', () => {
  it('a full run reads every invoice in one page of 1000 (the most Xero allows; the organisation header injected); an incremental run asks with If-Modified-Since and rewrites only the changed ones', async () => {
    const acct = await signup(h.t.app);
    const { connectionId, account: org } = await connectAccounting(h, acct, 'xero');
    const all = h.sandbox.xeroInvoices.list(org);
    expect(all).toHaveLength(520);
    const live = all.filter((i) => i.Status !== 'DELETED');

    const first = await run(acct, connectionId);
    expect(first).toMatchObject({ status: 'succeeded', mode: 'full', added: live.length, updated: 0, pages: 1, providerCalls: 1 });
    const full = invoiceCalls(org);
    expect(full.map((r) => new URLSearchParams(r.query).get('page'))).toEqual(['1']);
    expect(full.every((r) => new URLSearchParams(r.query).get('pageSize') === '1000' && r.headers['if-modified-since'] === undefined)).toBe(true);
    const before = new Map((await rows(acct, connectionId)).map((r) => [r.external_id, r]));
    expect(before.size).toBe(live.length);
    // The record is Xero's own invoice, field names and .NET dates as sent.
    const sample = before.get(live[0]!.InvoiceID as string)!.payload;
    expect(sample).toMatchObject({ InvoiceID: live[0]!.InvoiceID, Type: live[0]!.Type, AmountDue: live[0]!.AmountDue, UpdatedDateUTC: expect.stringMatching(/^\/Date\(\d+\+0000\)\/$/) });
    const checkpoint = (await lastRun(acct)).checkpoint!;
    expect(checkpoint).toBe(new Date(Math.max(...live.map((i) => xeroDateMs(String(i.UpdatedDateUTC))))).toISOString());
    const cursor = (await lastRun(acct)).cursor_to!;

    // A bookkeeper pays one invoice, voids another and deletes a draft.
    // Changed before the skew margin the engine keeps (5 min), so the next checkpoint is exactly this time.
    const at = new Date(h.t.clock().getTime() - 10 * 60_000);
    const open = live.filter((i) => i.Status === 'AUTHORISED' && i.AmountPaid === 0);
    const draft = live.find((i) => i.Status === 'DRAFT')!;
    expect(h.sandbox.xeroInvoices.pay(org, open[0]!.InvoiceID as string, at)).toBe(true);
    expect(h.sandbox.xeroInvoices.void(org, open[1]!.InvoiceID as string, at)).toBe(true);
    expect(h.sandbox.xeroInvoices.remove(org, draft.InvoiceID as string, at)).toBe(true);
    const second = await run(acct, connectionId);
    expect(second).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 2, deleted: 1, pages: 1, providerCalls: 1 });
    const asked = invoiceCalls(org).at(-1)!;
    expect(asked.headers['if-modified-since']).toBe(checkpoint.slice(0, 19));

    const after = await rows(acct, connectionId);
    const rewritten = after.filter((r) => r.change_seq !== before.get(r.external_id)!.change_seq).map((r) => r.external_id).sort();
    expect(rewritten).toEqual([open[0]!.InvoiceID, open[1]!.InvoiceID, draft.InvoiceID].sort());
    expect(after.find((r) => r.external_id === draft.InvoiceID)!.deleted_at).not.toBeNull();
    expect(after.find((r) => r.external_id === open[0]!.InvoiceID)!.payload).toMatchObject({ Status: 'PAID', AmountDue: 0 });
    expect(after.filter((r) => r.deleted_at).length).toBe(1);
    // The change cursor moved past the three changes; the checkpoint to the newest change.
    const run2 = await lastRun(acct);
    expect(BigInt(run2.cursor_from!)).toBeGreaterThanOrEqual(BigInt(cursor));
    const moved = after.filter((r) => BigInt(r.change_seq) > BigInt(cursor));
    expect(moved.map((r) => r.external_id).sort()).toEqual(rewritten);
    expect(BigInt(run2.cursor_to!)).toBe(moved.reduce((m, r) => (BigInt(r.change_seq) > m ? BigInt(r.change_seq) : m), 0n));
    expect(run2.checkpoint).toBe(at.toISOString());

    // Nothing changed since: an incremental run reads the last change again and rewrites nothing.
    expect(await run(acct, connectionId)).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 0, deleted: 0 });
    // A full run reads the one page again, rewrites nothing and keeps the deleted draft deleted.
    expect(await run(acct, connectionId, 'full')).toMatchObject({ status: 'succeeded', mode: 'full', added: 0, updated: 0, deleted: 0, pages: 1 });
  });

  it('a failing Xero fails the run with a code; the next run starts from the last success and still finds the change', async () => {
    const acct = await signup(h.t.app);
    const { connectionId, account: org } = await connectAccounting(h, acct, 'xero');
    await run(acct, connectionId);
    h.sandbox.xeroInvoices.pay(org, h.sandbox.xeroInvoices.list(org).find((i) => i.Status === 'AUTHORISED')!.InvoiceID as string, new Date(h.t.clock().getTime() - 60_000));
    h.sandbox.fail('xero', { status: 503, path: '/api.xro/2.0/Invoices', times: 10 });
    try {
      expect(await run(acct, connectionId)).toMatchObject({ status: 'failed', errorCode: 'http_503' });
    } finally {
      h.sandbox.heal('xero');
    }
    expect(await run(acct, connectionId)).toMatchObject({ status: 'succeeded', mode: 'incremental', updated: 1 });
  });

  it("a reader's own headers reach Xero, but never replace the connection's organisation header or token", async () => {
    const acct = await signup(h.t.app);
    const { account: org } = await connectAccounting(h, acct, 'xero');
    const other = await connectAccounting(h, await signup(h.t.app), 'xero');
    const res = await h.t.services.tenantClients.fetch(acct.tenantId, 'xero', '/api.xro/2.0/Invoices?page=1', {
      headers: { 'If-Modified-Since': '2026-10-21T00:00:00', 'xero-tenant-id': other.account, authorization: 'Bearer stolen' },
    });
    expect(res.status).toBe(200);
    const sent = invoiceCalls(org).at(-1)!;
    expect(sent.headers['if-modified-since']).toBe('2026-10-21T00:00:00');
    expect(sent.headers.authorization).not.toBe('Bearer stolen');
    expect(invoiceCalls(other.account)).toEqual([]);
  });
});

async function lastRun(acct: Account) {
  return h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow());
}
