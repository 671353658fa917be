import type { WorkingCapital, WorkingCapitalSnapshot } from '@keyhold/contract';
import type { Clock } from '../../platform/clock.js';
import { systemActor } from '../../platform/context.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ProviderAdapter } from '../../providers/adapter.js';
import type { ConnectionStore } from '../../domains/connections/store.js';
import type { TenantPrincipal } from '../../domains/identity/principal.js';
import type { SyncsService } from '../../domains/syncs/syncs.service.js';
import { currentRatio, fromCents, homeCurrencyOf, quickbooksCents, stockCents, xeroContribution } from './figures.js';
import type { SnapshotRow, WorkingCapitalRepo } from './working-capital.repo.js';

type Source = 'xero' | 'quickbooks';
/** The accounting providers, in the order a tenant's connection is chosen when it has several. */
const SOURCES: Record<Source, { name: string; syncs: ReadonlyArray<{ sync: string; model: string }> }> = {
  xero: { name: 'Xero', syncs: [{ sync: 'invoices', model: 'xero_invoices' }] },
  quickbooks: { name: 'QuickBooks', syncs: [{ sync: 'invoices', model: 'quickbooks_invoices' }, { sync: 'bills', model: 'quickbooks_bills' }] },
};
const STOCK = { provider: 'unleashed', model: 'unleashed_stock_on_hand' };
const FEED_PAGE = 1000;
/** How many days `history` answers at most (one row a day). */
export const MAX_HISTORY_DAYS = 366;
/** The daily job snapshots at most this many companies per accounting provider and tenant. */
const MAX_COMPANIES = 100;

export type WorkingCapitalDeps = {
  tenancy: Tenancy;
  repo: WorkingCapitalRepo;
  store: Pick<ConnectionStore, 'page' | 'byId'>;
  syncs: Pick<SyncsService, 'records' | 'runs'>;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  clock: Clock;
  log?: Pick<Logger, 'warn' | 'info'>;
};

type Accounting = { id: string; provider: Source; label: string; status: string };
type Figures = { currency: string | null; receivables: number; payables: number; inventory: number | null; inventoryWarning?: string };

const isSource = (p: string): p is Source => p in SOURCES;
const day = (d: Date) => d.toISOString().slice(0, 10);

/** The reference's answer when no accounting integration is set up: 503 with the ways to connect one. */
const notConfigured = () => new AppError('INTEGRATION_NOT_CONFIGURED', 'No accounting integration is configured: please configure Xero or QuickBooks in Admin > Integrations', {
  actions: [{ label: 'Connect Xero', url: '/admin/integrations?connect=xero' }, { label: 'Connect QuickBooks', url: '/admin/integrations?connect=quickbooks' }],
});

/**
 * Working capital from the tenant's synced records: receivables and payables from its accounting
 * connection (Xero or QuickBooks), inventory value from its stock records (Unleashed), a daily
 * snapshot per tenant, and the last snapshot as the answer while the provider cannot be reached.
 */
export function createWorkingCapitalService(deps: WorkingCapitalDeps) {
  const system = (tenantId: string): TenantPrincipal => ({ tenantId, role: 'admin', actor: systemActor });

  /** The connection named, or the tenant's first active Xero connection, else its first QuickBooks one. */
  async function accountingConnection(tenantId: string, connectionId?: string): Promise<Accounting> {
    const row = await deps.tenancy.withTenant(tenantId, async (tx) => {
      if (connectionId) {
        const named = await deps.store.byId(tx, connectionId);
        if (!named || !isSource(named.provider)) throw new AppError('NOT_FOUND', 'No accounting connection with this id');
        return named;
      }
      for (const provider of Object.keys(SOURCES)) {
        const { rows } = await deps.store.page(tx, { provider, isActive: true, limit: 1, offset: 0 });
        if (rows[0]) return rows[0];
      }
      return null;
    });
    if (!row) throw notConfigured();
    return { id: row.id, provider: row.provider as Source, label: row.label, status: row.status };
  }

  /** When each of the source's syncs last succeeded (the oldest of them), and whether the latest finished run of any failed. */
  async function syncState(p: TenantPrincipal, conn: Accounting) {
    let asOf: Date | null = null;
    let never = false;
    let failure: string | null = null;
    for (const { sync } of SOURCES[conn.provider].syncs) {
      const { items } = await deps.syncs.runs(p, { connectionId: conn.id, sync, page: 1, limit: 50 });
      const latest = items.find((r) => r.status !== 'running');
      if (latest?.status === 'failed') failure ??= latest.errorCode ?? 'failed';
      const success = items.find((r) => r.status === 'succeeded');
      if (!success?.finishedAt) never = true;
      else if (asOf === null || new Date(success.finishedAt) < asOf) asOf = new Date(success.finishedAt);
    }
    return { asOf: never ? null : asOf, failure };
  }

  /**
   * Every live (not deleted) record of `model`, through the records change feed, each once: a
   * record a sync rewrites while the feed is read moves to a later position and is read again, so
   * the versions are kept by (connection, id) and the last one read wins (a deletion removes it).
   */
  async function eachRecord(p: TenantPrincipal, model: string, visit: (payload: Record<string, unknown>, connectionId: string) => void, connectionId?: string) {
    const latest = new Map<string, { payload: Record<string, unknown>; connectionId: string } | null>();
    let cursor = '0';
    for (;;) {
      const page = await deps.syncs.records(p, model, { cursor, limit: FEED_PAGE, ...(connectionId ? { connectionId } : {}) });
      for (const r of page.items) latest.set(`${r.connectionId}\u0000${r.externalId}`, r.deletedAt ? null : { payload: r.payload, connectionId: r.connectionId });
      if (!page.hasMore) break;
      cursor = page.next;
    }
    for (const r of latest.values()) if (r) visit(r.payload, r.connectionId);
  }

  async function figures(p: TenantPrincipal, conn: Accounting): Promise<Figures> {
    let receivables = 0;
    let payables = 0;
    const currencies = new Set<string>();
    const tell = (txn: Record<string, unknown>) => { const c = homeCurrencyOf(conn.provider, txn); if (c) currencies.add(c); };
    if (conn.provider === 'xero') {
      await eachRecord(p, 'xero_invoices', (inv) => {
        tell(inv);
        const c = xeroContribution(inv);
        if (c?.side === 'receivable') receivables += c.cents;
        else if (c) payables += c.cents;
      }, conn.id);
    } else {
      await eachRecord(p, 'quickbooks_invoices', (inv) => { tell(inv); receivables += quickbooksCents(inv); }, conn.id);
      await eachRecord(p, 'quickbooks_bills', (bill) => { tell(bill); payables += quickbooksCents(bill); }, conn.id);
    }
    // Records disagreeing on the home currency tell none.
    const currency = currencies.size === 1 ? [...currencies][0]! : null;
    return { currency, receivables, payables, ...(await inventory(p, currency)) };
  }

  /**
   * Stock at cost over the tenant's stock connections; null when it has none. Added only when
   * every stock connection is known to keep its costs in the accounting home currency (its
   * config's `currency`: the stock records do not name one); else null and a warning, never a
   * sum of two currencies.
   */
  async function inventory(p: TenantPrincipal, currency: string | null): Promise<{ inventory: number | null; inventoryWarning?: string }> {
    const { rows } = await deps.tenancy.withTenant(p.tenantId, (tx) => deps.store.page(tx, { provider: STOCK.provider, isActive: true, limit: 100, offset: 0 }));
    if (rows.length === 0) return { inventory: null };
    const stockCurrencies = rows.map((r) => { const c = (r.config as Record<string, unknown>).currency; return typeof c === 'string' && /^[A-Z]{3}$/.test(c) ? c : null; });
    const left = 'Inventory value left out: ';
    if (currency === null) return { inventory: null, inventoryWarning: `${left}the accounting home currency is not known from the synced records, so stock cannot be added to it` };
    if (stockCurrencies.includes(null)) {
      return { inventory: null, inventoryWarning: `${left}the currency of the Unleashed stock is not known (its stock records do not name it; set the connection's currency), so it is not added to figures in ${currency}` };
    }
    const other = stockCurrencies.find((c) => c !== currency);
    if (other) return { inventory: null, inventoryWarning: `${left}the Unleashed stock is in ${other}, not ${currency}` };
    const ids = new Set(rows.map((r) => r.id));
    let cents = 0;
    await eachRecord(p, STOCK.model, (item, connectionId) => { if (ids.has(connectionId)) cents += stockCents(item); });
    return { inventory: cents };
  }

  function answer(conn: Accounting, f: Figures, asOf: Date, syncWarning?: string): WorkingCapital {
    const warning = [syncWarning, f.inventoryWarning].filter(Boolean).join('; ');
    return {
      source: conn.provider, connectionId: conn.id, currency: f.currency,
      accountsReceivable: fromCents(f.receivables), accountsPayable: fromCents(f.payables),
      inventoryValue: f.inventory === null ? null : fromCents(f.inventory), cashBalance: null,
      workingCapital: fromCents(f.receivables + (f.inventory ?? 0) - f.payables), currentRatio: currentRatio(f.receivables, f.inventory, f.payables),
      asOf: asOf.toISOString(), fromSnapshot: false, ...(warning ? { warning } : {}),
    };
  }

  /** How often the source's syncs run (the longest of their intervals), in ms. */
  function intervalMs(conn: Accounting) {
    const defs = deps.adapterFor({ id: conn.provider }).syncs ?? {};
    return Math.max(...SOURCES[conn.provider].syncs.map((s) => defs[s.sync]?.defaultFrequencyMinutes ?? 60)) * 60_000;
  }

  /**
   * The current figures. From the records store when the provider's syncs are healthy (with a
   * warning once the data is older than its sync interval); from the last stored snapshot when the
   * connection cannot reach the provider or its latest sync failed (the database fallback), unless
   * the records are newer than that snapshot (then from them, with the same warning).
   */
  async function current(p: TenantPrincipal, q: { connectionId?: string } = {}): Promise<WorkingCapital> {
    const conn = await accountingConnection(p.tenantId, q.connectionId);
    const { name } = SOURCES[conn.provider];
    const state = await syncState(p, conn);
    const why = conn.status !== 'active' ? `the connection is ${conn.status}` : state.failure ? `its last sync failed: ${state.failure}` : null;
    if (why !== null || state.asOf === null) {
      const snap = await deps.tenancy.withTenant(p.tenantId, (tx) => deps.repo.latest(tx, p.tenantId, conn.id));
      // The snapshot unless the records are newer (a sync succeeded after it was stored).
      if (snap && (state.asOf === null || snap.as_of.getTime() >= state.asOf.getTime())) {
        const reason = why ?? 'it has not been synced yet';
        return { ...fromRow(snap, conn.id), fromSnapshot: true, warning: `${name} integration unavailable (${reason}); showing the stored figures of ${snap.date}, synced at ${snap.as_of.toISOString()}` };
      }
      if (state.asOf === null) {
        throw new AppError('INTEGRATION_UNAVAILABLE', `Working capital data unavailable: ${name} has not been synced yet and no stored figures exist`, {
          actions: [{ label: `Check the ${name} connection`, url: `/admin/integrations?provider=${conn.provider}` }],
        });
      }
    }
    const asOf = state.asOf!;
    const f = await figures(p, conn);
    const interval = intervalMs(conn);
    const warning = why !== null
      ? `${name} integration unavailable (${why}); showing the data synced at ${asOf.toISOString()}`
      : deps.clock().getTime() - asOf.getTime() > interval
        ? `The ${name} data is older than its sync interval (every ${interval / 60_000} minutes): last synced at ${asOf.toISOString()}`
        : undefined;
    return answer(conn, f, asOf, warning);
  }

  /** The tenant's active accounting connections (Xero first, then QuickBooks). */
  async function accountingConnections(tenantId: string): Promise<Accounting[]> {
    return deps.tenancy.withTenant(tenantId, async (tx) => {
      const out: Accounting[] = [];
      for (const provider of Object.keys(SOURCES) as Source[]) {
        const { rows } = await deps.store.page(tx, { provider, isActive: true, limit: MAX_COMPANIES, offset: 0 });
        out.push(...rows.map((r) => ({ id: r.id, provider, label: r.label, status: r.status })));
      }
      return out;
    });
  }

  /** Stores today's snapshot of one accounting connection from its records (replacing an earlier one of today); null when it was never synced. */
  async function snapshotOf(tenantId: string, conn: Accounting): Promise<WorkingCapitalSnapshot | null> {
    const p = system(tenantId);
    const { asOf } = await syncState(p, conn);
    if (asOf === null) return null;
    const f = await figures(p, conn);
    const now = deps.clock();
    const date = day(now);
    await deps.tenancy.withTenant(tenantId, (tx) => deps.repo.upsert(tx, {
      tenantId, date, currency: f.currency, source: conn.provider, connectionId: conn.id, receivablesCents: f.receivables, payablesCents: f.payables,
      inventoryCents: f.inventory, cashCents: null, asOf,
    }, now));
    const { fromSnapshot: _, warning: __, connectionId: ___, ...figuresOf } = answer(conn, f, asOf);
    return { date, ...figuresOf };
  }

  /** Stores today's snapshot of the named accounting connection (default: the tenant's default one); null when there is nothing to store. */
  async function snapshot(tenantId: string, connectionId?: string): Promise<WorkingCapitalSnapshot | null> {
    let conn: Accounting;
    try {
      conn = await accountingConnection(tenantId, connectionId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'INTEGRATION_NOT_CONFIGURED') return null;
      throw err;
    }
    return snapshotOf(tenantId, conn);
  }

  /** The daily job: a snapshot of every active accounting connection of every tenant, each tenant in its own context. */
  async function snapshotAll() {
    const ids = await deps.repo.tenantsWith(Object.keys(SOURCES));
    let stored = 0;
    let failed = 0;
    for (const id of ids) {
      try {
        for (const conn of await accountingConnections(id)) {
          try {
            if (await snapshotOf(id, conn)) stored++;
          } catch (err) {
            failed++;
            deps.log?.warn({ tenantId: id, connectionId: conn.id, code: err instanceof AppError ? err.code : 'internal_error' }, 'working capital snapshot failed');
          }
        }
      } catch (err) {
        failed++;
        deps.log?.warn({ tenantId: id, code: err instanceof AppError ? err.code : 'internal_error' }, 'working capital snapshot failed');
      }
    }
    return { tenants: ids.length, stored, failed };
  }

  /** One accounting connection's daily snapshots (default: the tenant's default one) from `from` to `to` (UTC days, inclusive; default the last 30 days). */
  async function history(p: TenantPrincipal, q: { from?: string; to?: string; connectionId?: string }): Promise<WorkingCapitalSnapshot[]> {
    const to = q.to ?? day(deps.clock());
    const from = q.from ?? day(new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000));
    const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
    if (span < 0) throw new AppError('VALIDATION_FAILED', 'from: must not be after to');
    if (span >= MAX_HISTORY_DAYS) throw new AppError('VALIDATION_FAILED', `from: the range may span at most ${MAX_HISTORY_DAYS} days`);
    let conn: Accounting;
    try {
      conn = await accountingConnection(p.tenantId, q.connectionId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'INTEGRATION_NOT_CONFIGURED') return [];
      throw err;
    }
    const rows = await deps.tenancy.withTenant(p.tenantId, (tx) => deps.repo.between(tx, p.tenantId, conn.id, from, to));
    return rows.map((r) => {
      const { fromSnapshot: _, warning: __, connectionId: ___, ...rest } = fromRow(r, null);
      return { date: r.date, ...rest };
    });
  }

  return { current, history, snapshot, snapshotAll };
}
export type WorkingCapitalService = ReturnType<typeof createWorkingCapitalService>;

const numOrNull = (v: string | null) => (v === null ? null : Number(v));

function fromRow(r: SnapshotRow, connectionId: string | null): WorkingCapital {
  return {
    source: r.source, connectionId: r.connection_id ?? connectionId, currency: r.currency,
    accountsReceivable: Number(r.accounts_receivable), accountsPayable: Number(r.accounts_payable),
    inventoryValue: numOrNull(r.inventory_value), cashBalance: numOrNull(r.cash_balance),
    workingCapital: Number(r.working_capital), currentRatio: numOrNull(r.current_ratio),
    asOf: r.as_of.toISOString(), fromSnapshot: true,
  };
}
