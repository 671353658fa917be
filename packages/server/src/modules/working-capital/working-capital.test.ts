import { randomBytes, randomUUID } from 'node:crypto';
import { xeroWebhookDelivery, xeroWebhookEvent } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../domains/syncs/run.js';
import { Secret } from '../../platform/crypto/secret.js';
import { type Account, addMember, bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { connectAccounting } from '../../test-support/accounting.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { createSyncsRepo } from '../../domains/syncs/syncs.repo.js';

/**
 * Working capital from records synced from the sandbox's Xero organisations and QuickBooks
 * companies. Expected figures are computed here from the sandbox's own data set, by the rules the
 * module documents, never through the module's code. A database of this file's own: the daily
 * job sees only this file's tenants.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
/** Xero's webhook signing key of Keyhold's app (change notices). */
const XERO_WEBHOOK_KEY = `xero-key-${randomBytes(8).toString('hex')}`;
const queued: RunRequest[] = [];
beforeAll(async () => {
  h = await oauthHarness({ scratch: true, webhooks: { secrets: { xero: [new Secret(XERO_WEBHOOK_KEY)] }, verifyTokens: {}, rawRetentionDays: 7, retentionDays: 30 } });
  // Runs queued by change notices are recorded here and run by the test.
  h.t.services.syncs.useQueue(async (req) => { queued.push(req); });
}, 60_000);
afterAll(() => h.close());

type XeroInvoice = { InvoiceID: string; Type: string; Status: string; AmountDue: number; AmountPaid: number; CurrencyRate: number };
type QboTxn = { Id: string; Balance: number; ExchangeRate?: number };

/** Receivables and payables by hand: Xero AUTHORISED/SUBMITTED AmountDue in the base currency (÷ CurrencyRate), each rounded to the cent. */
function xeroByHand(invoices: XeroInvoice[]) {
  const cents = (type: string) => invoices.filter((i) => i.Type === type && (i.Status === 'AUTHORISED' || i.Status === 'SUBMITTED'))
    .reduce((sum, i) => sum + Math.round((i.AmountDue / i.CurrencyRate) * 100), 0);
  return { receivables: cents('ACCREC'), payables: cents('ACCPAY') };
}
/** QuickBooks: Balance × ExchangeRate (home currency), each rounded to the cent. */
const qboByHand = (rows: QboTxn[]) => rows.reduce((sum, r) => sum + Math.round(r.Balance * (r.ExchangeRate ?? 1) * 100), 0);

const current = (token: string, query = '') => h.t.app.inject({ method: 'GET', url: `/api/working-capital/current${query}`, headers: bearer(token) });
const history = (token: string, query: string) => h.t.app.inject({ method: 'GET', url: `/api/working-capital/history?${query}`, headers: bearer(token) });
const sync = (acct: Account, connectionId: string, name: string) => h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync: name, trigger: 'manual' });

async function xeroTenant() {
  const acct = await signup(h.t.app);
  const { connectionId, account: org } = await connectAccounting(h, acct, 'xero');
  expect(await sync(acct, connectionId, 'invoices')).toMatchObject({ status: 'succeeded' });
  return { acct, connectionId, org };
}

describe('working capital', () => {
  it('from Xero: receivables and payables equal the hand-computed sums over the 520 invoices (approved only, converted to the base currency)', async () => {
    const { acct, connectionId, org } = await xeroTenant();
    const invoices = h.sandbox.xeroInvoices.list(org) as XeroInvoice[];
    const want = xeroByHand(invoices);
    // The data set has what the rules must leave out or convert: drafts with amounts due, foreign-currency invoices.
    expect(invoices.some((i) => i.Status === 'DRAFT' && i.AmountDue > 0)).toBe(true);
    expect(invoices.some((i) => i.CurrencyRate !== 1 && i.Status === 'AUTHORISED')).toBe(true);
    const res = await current(acct.accessToken);
    expect(res.statusCode, res.body).toBe(200);
    const wc = res.json().data;
    expect(wc).toMatchObject({
      source: 'xero', connectionId, accountsReceivable: want.receivables / 100, accountsPayable: want.payables / 100,
      inventoryValue: null, cashBalance: null, workingCapital: (want.receivables - want.payables) / 100,
      currentRatio: Math.round(((want.receivables * 10_000) / want.payables)) / 10_000, fromSnapshot: false,
    });
    expect(wc.warning).toBeUndefined();
    expect(Date.parse(wc.asOf)).toBeLessThanOrEqual(h.t.clock().getTime());
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const started = performance.now();
      await current(acct.accessToken);
      times.push(performance.now() - started);
    }
    console.info(`working capital from ${invoices.length} Xero invoices: median ${times.sort((a, b) => a - b)[4]!.toFixed(1)} ms per GET /api/working-capital/current`);

    // A customer pays an invoice: after the next (incremental) sync, receivables drop by exactly what it owed.
    const paid = invoices.find((i) => i.Type === 'ACCREC' && i.Status === 'AUTHORISED' && i.AmountPaid === 0 && i.CurrencyRate === 1)!;
    h.sandbox.xeroInvoices.pay(org, paid.InvoiceID, new Date(h.t.clock().getTime() - 10 * 60_000));
    expect(await sync(acct, connectionId, 'invoices')).toMatchObject({ mode: 'incremental', updated: 1 });
    expect((await current(acct.accessToken)).json().data.accountsReceivable).toBe((want.receivables - Math.round(paid.AmountDue * 100)) / 100);
  });

  it("a Xero change notice queues an incremental sync; once it ran, working capital shows the change", async () => {
    const { acct, connectionId, org } = await xeroTenant();
    const invoices = h.sandbox.xeroInvoices.list(org) as XeroInvoice[];
    const before = xeroByHand(invoices);
    const bill = invoices.find((i) => i.Type === 'ACCPAY' && i.Status === 'AUTHORISED' && i.AmountPaid === 0 && i.CurrencyRate === 1)!;
    h.sandbox.xeroInvoices.void(org, bill.InvoiceID, new Date(h.t.clock().getTime() - 10 * 60_000));
    const d = xeroWebhookDelivery(XERO_WEBHOOK_KEY, [xeroWebhookEvent({ tenantId: org, resourceId: bill.InvoiceID, category: 'INVOICE', type: 'UPDATE', at: h.t.clock() })]);
    expect((await h.t.app.inject({ method: 'POST', url: '/api/webhooks/xero', headers: d.headers, payload: d.body })).statusCode).toBe(200);
    queued.length = 0;
    await h.t.services.events.drain();
    expect(queued).toEqual([{ tenantId: acct.tenantId, connectionId, sync: 'invoices', trigger: 'webhook', mode: 'incremental' }]);
    expect(await h.t.services.syncs.run(queued[0]!)).toMatchObject({ status: 'succeeded', mode: 'incremental', updated: 1 });
    expect((await current(acct.accessToken)).json().data.accountsPayable).toBe((before.payables - Math.round(bill.AmountDue * 100)) / 100);
  });

  it('from QuickBooks: receivables are the invoices’ Balance, payables the bills’ Balance, in the home currency', async () => {
    const acct = await signup(h.t.app);
    const { connectionId, account: realm } = await connectAccounting(h, acct, 'quickbooks');
    for (const s of ['invoices', 'bills']) expect(await sync(acct, connectionId, s)).toMatchObject({ status: 'succeeded' });
    const receivables = qboByHand(h.sandbox.quickbooksBooks.invoices(realm) as QboTxn[]);
    const payables = qboByHand(h.sandbox.quickbooksBooks.bills(realm) as QboTxn[]);
    expect((h.sandbox.quickbooksBooks.invoices(realm) as QboTxn[]).some((i) => i.ExchangeRate && i.Balance > 0)).toBe(true);
    const wc = (await current(acct.accessToken)).json().data;
    expect(wc).toMatchObject({ source: 'quickbooks', connectionId, currency: 'USD', accountsReceivable: receivables / 100, accountsPayable: payables / 100, workingCapital: (receivables - payables) / 100, fromSnapshot: false });
  });

  it("inventory value is the Unleashed stock records' TotalCost (deleted lines left out), and counts in working capital and the current ratio", async () => {
    const { acct, org } = await xeroTenant();
    const { body, seed } = credentialsFor('unleashed');
    h.sandbox.seed('unleashed', seed);
    // The stock's costs are in the organisation's base currency (AUD): the tenant says so in the connection's config.
    const created = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'unleashed', ...body, additionalConfig: { ...(body.additionalConfig as Record<string, string>), currency: 'AUD' } } });
    expect(created.statusCode, created.body).toBe(201);
    expect((await current(acct.accessToken)).json().data.inventoryValue).toBe(0);
    const stock = [{ id: 'a1', TotalCost: 1234.5 }, { id: 'b2', TotalCost: 99.99 }, { id: 'c3', TotalCost: 500 }];
    await writeStock(acct, created.json().data.id, stock, ['c3']);
    const inventory = 123_450 + 9_999;
    const { receivables, payables } = xeroByHand(h.sandbox.xeroInvoices.list(org) as XeroInvoice[]);
    expect((await current(acct.accessToken)).json().data).toMatchObject({
      inventoryValue: inventory / 100, workingCapital: (receivables + inventory - payables) / 100,
      currentRatio: Math.round(((receivables + inventory) * 10_000) / payables) / 10_000,
    });
  });

  it('a record rewritten by a sync while the figures are read counts once: the receivables are the old or the new state, never both', async () => {
    const { acct, connectionId, org } = await xeroTenant();
    const want = xeroByHand(h.sandbox.xeroInvoices.list(org) as XeroInvoice[]);
    const syncs = h.t.services.syncs;
    const read = syncs.records;
    let changed: string | null = null;
    // Pages of 100, and after the first one a submitted invoice of that page is approved and synced
    // (it moves to a later position of the change feed, still due: both versions count the same).
    syncs.records = async (p, model, f) => {
      const page = await read(p, model, { ...f, limit: Math.min(f.limit, 100) });
      if (model === 'xero_invoices' && changed === null) {
        const inv = page.items.map((r) => r.payload as unknown as XeroInvoice).find((i) => i.Type === 'ACCREC' && i.Status === 'SUBMITTED' && i.AmountDue > 0);
        expect(inv).toBeDefined();
        changed = inv!.InvoiceID;
        expect(h.sandbox.xeroInvoices.approve(org, changed, new Date(h.t.clock().getTime() - 10 * 60_000))).toBe(true);
        expect(await sync(acct, connectionId, 'invoices')).toMatchObject({ status: 'succeeded', updated: 1 });
      }
      return page;
    };
    try {
      const wc = (await current(acct.accessToken)).json().data;
      expect(changed).not.toBeNull();
      expect(wc.accountsReceivable).toBe(want.receivables / 100);
      expect(wc.accountsReceivable).toBe(xeroByHand(h.sandbox.xeroInvoices.list(org) as XeroInvoice[]).receivables / 100);
    } finally {
      syncs.records = read;
    }
  });

  it("inventory is added only in the accounting home currency: the answer names it; stock of another or an unknown currency is left out with a warning", async () => {
    const { acct, org } = await xeroTenant();
    const { body, seed } = credentialsFor('unleashed');
    h.sandbox.seed('unleashed', seed);
    const created = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'unleashed', ...body } });
    const stockId = created.json().data.id as string;
    await writeStock(acct, stockId, [{ id: 'a1', TotalCost: 1000 }], []);
    const { receivables, payables } = xeroByHand(h.sandbox.xeroInvoices.list(org) as XeroInvoice[]);
    const setCurrency = (currency: string | null) => h.t.db.withTenant(acct.tenantId, async (tx) => {
      const row = await tx.selectFrom('connections').select('config').where('id', '=', stockId).executeTakeFirstOrThrow();
      const { currency: _, ...rest } = row.config as Record<string, unknown>;
      await tx.updateTable('connections').set({ config: JSON.stringify(currency ? { ...rest, currency } : rest) as never }).where('id', '=', stockId).execute();
    });
    // The organisation's base currency is AUD (its invoices that need no conversion); the stock's is not known.
    let wc = (await current(acct.accessToken)).json().data;
    expect(wc).toMatchObject({ currency: 'AUD', inventoryValue: null, workingCapital: (receivables - payables) / 100 });
    expect(wc.warning).toMatch(/^Inventory value left out: the currency of the Unleashed stock is not known/);
    await setCurrency('NZD');
    wc = (await current(acct.accessToken)).json().data;
    expect(wc).toMatchObject({ currency: 'AUD', inventoryValue: null });
    expect(wc.warning).toMatch(/Unleashed stock is in NZD, not AUD/);
    await setCurrency('AUD');
    wc = (await current(acct.accessToken)).json().data;
    expect(wc).toMatchObject({ currency: 'AUD', inventoryValue: 1000, workingCapital: (receivables + 100_000 - payables) / 100 });
    expect(wc.warning).toBeUndefined();
  });

  it('no accounting connection: 503 INTEGRATION_NOT_CONFIGURED with the actions to connect Xero or QuickBooks', async () => {
    const acct = await signup(h.t.app);
    const res = await current(acct.accessToken);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      success: false, code: 'INTEGRATION_NOT_CONFIGURED', error: expect.stringContaining('Admin > Integrations'),
      actions: [{ label: 'Connect Xero', url: '/admin/integrations?connect=xero' }, { label: 'Connect QuickBooks', url: '/admin/integrations?connect=quickbooks' }],
    });
    // Connected but never synced, with nothing stored: unavailable, not a page of zeros.
    await connectAccounting(h, acct, 'xero');
    expect((await current(acct.accessToken)).json()).toMatchObject({ code: 'INTEGRATION_UNAVAILABLE' });
  });

  it('database fallback: while Xero fails, the answer is the last stored snapshot, with a warning; once a sync succeeds again, the records', async () => {
    const { acct, connectionId, org } = await xeroTenant();
    const stored = await h.t.services.workingCapital.snapshot(acct.tenantId);
    expect(stored).not.toBeNull();
    const want = xeroByHand(h.sandbox.xeroInvoices.list(org) as XeroInvoice[]);
    h.sandbox.fail('xero', { status: 503, path: '/api.xro/2.0/Invoices' });
    try {
      expect(await sync(acct, connectionId, 'invoices')).toMatchObject({ status: 'failed', errorCode: 'http_503' });
    } finally {
      h.sandbox.heal('xero');
    }
    const res = await current(acct.accessToken);
    expect(res.statusCode).toBe(200);
    const wc = res.json().data;
    expect(wc).toMatchObject({ source: 'xero', fromSnapshot: true, accountsReceivable: want.receivables / 100, accountsPayable: want.payables / 100, asOf: stored!.asOf });
    expect(wc.warning).toMatch(/^Xero integration unavailable \(its last sync failed: http_503\); showing the stored figures of \d{4}-\d{2}-\d{2}/);
    // The snapshot, not the records: a snapshot row changed behind the module's back shows through.
    await h.t.db.withTenant(acct.tenantId, (tx) => tx.updateTable('working_capital_metrics').set({ accounts_receivable: '1.00' }).where('tenant_id', '=', acct.tenantId).execute());
    expect((await current(acct.accessToken)).json().data).toMatchObject({ fromSnapshot: true, accountsReceivable: 1, workingCapital: Math.round(100 - want.payables) / 100 });

    expect(await sync(acct, connectionId, 'invoices')).toMatchObject({ status: 'succeeded' });
    expect((await current(acct.accessToken)).json().data).toMatchObject({ fromSnapshot: false, accountsReceivable: want.receivables / 100 });
  });

  it('two QuickBooks companies: each has its own snapshots; while B cannot be synced, B never answers with A\'s figures', async () => {
    const acct = await signup(h.t.app);
    const a = await connectAccounting(h, acct, 'quickbooks', 'company-a');
    const b = await connectAccounting(h, acct, 'quickbooks', 'company-b');
    for (const s of ['invoices', 'bills']) expect(await sync(acct, a.connectionId, s)).toMatchObject({ status: 'succeeded' });
    const job = await h.t.services.workingCapital.snapshotAll();
    expect(job.failed).toBe(0);
    h.sandbox.fail('quickbooks', { status: 503 });
    try {
      expect(await sync(acct, b.connectionId, 'invoices')).toMatchObject({ status: 'failed' });
    } finally {
      h.sandbox.heal('quickbooks');
    }
    const res = await current(acct.accessToken, `?connection=${b.connectionId}`);
    expect([res.statusCode, res.json().code]).toEqual([503, 'INTEGRATION_UNAVAILABLE']);
    const receivablesA = qboByHand(h.sandbox.quickbooksBooks.invoices(a.account) as QboTxn[]);
    expect((await current(acct.accessToken, `?connection=${a.connectionId}`)).json().data).toMatchObject({ connectionId: a.connectionId, accountsReceivable: receivablesA / 100 });
    // Once B is synced, the daily job stores both companies' figures, and each history is its own.
    for (const s of ['invoices', 'bills']) expect(await sync(acct, b.connectionId, s)).toMatchObject({ status: 'succeeded' });
    expect(await h.t.services.workingCapital.snapshotAll()).toMatchObject({ failed: 0 });
    const receivablesB = qboByHand(h.sandbox.quickbooksBooks.invoices(b.account) as QboTxn[]);
    expect(receivablesB).not.toBe(receivablesA);
    const today = h.t.clock().toISOString().slice(0, 10);
    for (const [c, want] of [[a.connectionId, receivablesA], [b.connectionId, receivablesB]] as const) {
      const days = (await history(acct.accessToken, `from=${today}&to=${today}&connection=${c}`)).json().data;
      expect(days.map((d: { accountsReceivable: number }) => d.accountsReceivable)).toEqual([want / 100]);
    }
  });

  it('data older than its sync interval (60 minutes) carries a warning', async () => {
    const { acct } = await xeroTenant();
    // A key, not a session: sessions expire while the clock moves an hour on.
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'member', scopes: ['records:read'] })).key;
    const start = h.t.clock().getTime();
    try {
      h.t.clock.advance(59 * 60_000);
      expect((await current(key)).json().data.warning).toBeUndefined();
      h.t.clock.advance(2 * 60_000);
      expect((await current(key)).json().data.warning).toMatch(/^The Xero data is older than its sync interval \(every 60 minutes\): last synced at /);
    } finally {
      h.t.clock.set(start);
    }
  });

  it('daily snapshots: one per tenant and day (a rerun replaces it), generated working capital and ratio, history by date range; the job covers every connected tenant', async () => {
    const { acct, org } = await xeroTenant();
    const start = h.t.clock().getTime();
    const want = xeroByHand(h.sandbox.xeroInvoices.list(org) as XeroInvoice[]);
    try {
      h.t.clock.set(Date.parse('2027-01-10T12:00:00Z'));
      await h.t.services.workingCapital.snapshot(acct.tenantId);
      await h.t.services.workingCapital.snapshot(acct.tenantId);
      h.t.clock.set(Date.parse('2027-01-11T23:50:00Z'));
      const job = await h.t.services.workingCapital.snapshotAll();
      expect(job.failed).toBe(0);
      expect(job.stored).toBeGreaterThanOrEqual(1);
    } finally {
      h.t.clock.set(start);
    }
    const rows = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('working_capital_metrics').select(['working_capital', 'current_ratio']).execute());
    expect(rows).toEqual(Array(2).fill({ working_capital: ((want.receivables - want.payables) / 100).toFixed(2), current_ratio: (Math.round((want.receivables * 10_000) / want.payables) / 10_000).toFixed(4) }));
    const res = await history(acct.accessToken, 'from=2027-01-01&to=2027-01-31');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data.map((d: { date: string; accountsReceivable: number }) => [d.date, d.accountsReceivable])).toEqual([['2027-01-10', want.receivables / 100], ['2027-01-11', want.receivables / 100]]);
    expect((await history(acct.accessToken, 'from=2027-01-11&to=2027-01-11')).json().data).toHaveLength(1);
    for (const bad of ['from=2027-02-01&to=2027-01-01', 'from=2025-01-01&to=2027-01-01', 'from=2027-02-30', 'from=yesterday', 'page=2']) {
      expect((await history(acct.accessToken, bad)).json(), bad).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    // A burst of snapshots of the same day (the job on two nodes, reruns): one row, no error.
    const burst = await Promise.allSettled(Array.from({ length: 12 }, () => h.t.services.workingCapital.snapshot(acct.tenantId)));
    expect(burst.filter((r) => r.status === 'rejected')).toEqual([]);
    const today = h.t.clock().toISOString().slice(0, 10);
    expect((await history(acct.accessToken, `from=${today}&to=${today}`)).json().data).toHaveLength(1);
    // A tenant without an accounting connection gets no snapshot.
    const other = await signup(h.t.app);
    expect(await h.t.services.workingCapital.snapshot(other.tenantId)).toBeNull();
  });

  it("tenant isolation: another tenant sees neither the figures, the snapshots nor the connection of this one", async () => {
    const a = await xeroTenant();
    await h.t.services.workingCapital.snapshot(a.acct.tenantId);
    const b = await signup(h.t.app);
    expect((await current(b.accessToken)).json().code).toBe('INTEGRATION_NOT_CONFIGURED');
    const named = await current(b.accessToken, `?connection=${a.connectionId}`);
    expect([named.statusCode, named.json().code]).toEqual([404, 'NOT_FOUND']);
    expect((await history(b.accessToken, '')).json().data).toEqual([]);
    const rls = await h.t.db.withTenant(b.tenantId, (tx) => tx.selectFrom('working_capital_metrics').selectAll().execute());
    expect(rls).toEqual([]);
    // B's own organisation: its own figures, not A's.
    const { connectionId, account: org } = await connectAccounting(h, b, 'xero');
    await sync(b, connectionId, 'invoices');
    const wantB = xeroByHand(h.sandbox.xeroInvoices.list(org) as XeroInvoice[]);
    expect((await current(b.accessToken)).json().data).toMatchObject({ connectionId, accountsReceivable: wantB.receivables / 100 });
    expect(wantB.receivables).not.toBe(xeroByHand(h.sandbox.xeroInvoices.list(a.org) as XeroInvoice[]).receivables);
    expect((await history(a.acct.accessToken, '')).json().data).toHaveLength(1);
  });

  it("who may read: members and keys with 'records:read'; not viewers, not keys without it", async () => {
    const { acct } = await xeroTenant();
    expect((await current(await addMember(h.t.app, acct, 'member'))).statusCode).toBe(200);
    expect((await current(await addMember(h.t.app, acct, 'viewer'))).json().code).toBe('FORBIDDEN');
    const reader = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'member', scopes: ['records:read'] })).key;
    const proxyOnly = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'member', scopes: ['proxy'] })).key;
    expect((await current(reader)).statusCode).toBe(200);
    expect((await history(reader, '')).statusCode).toBe(200);
    expect((await current(proxyOnly)).json().code).toBe('FORBIDDEN');
  });
});

/** Stock-on-hand records as the Unleashed reader stores them, written through the records repo (`deleted`: then marked deleted). */
async function writeStock(acct: Account, connectionId: string, items: Array<{ id: string; TotalCost: number }>, deleted: string[]) {
  const repo = createSyncsRepo(h.t.db.kysely);
  const scope = { tenantId: acct.tenantId, connectionId, model: 'unleashed_stock_on_hand' };
  const seen = { runId: randomUUID(), at: h.t.clock() };
  await h.t.db.withTenant(acct.tenantId, async (tx) => {
    await repo.lockTenantFeed(tx, acct.tenantId);
    const page = items.map((i) => {
      const json = JSON.stringify({ Guid: i.id, ProductCode: `P-${i.id}`, QtyOnHand: 1, AvgCost: i.TotalCost, TotalCost: i.TotalCost });
      return { id: i.id, json, hash: Buffer.from(json).toString('hex').padEnd(64, '0').slice(0, 64) };
    });
    await repo.writePage(tx, scope, page, seen, false);
    await repo.deleteIds(tx, scope, deleted, seen);
  });
}
