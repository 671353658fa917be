import { type CommerceSettings, type CommerceSummary, type EventPayload, type EventSubject, StockItemIdSchema } from '@keyhold/contract';
import type { Clock } from '../../platform/clock.js';
import { type Tenancy, type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import type { AuditService } from '../../domains/audit/audit.service.js';
import type { ConnectionStore } from '../../domains/connections/store.js';
import type { EventConsumer } from '../../domains/events/events.service.js';
import type { Outbox } from '../../domains/events/outbox.js';
import type { TenantPrincipal } from '../../domains/identity/principal.js';
import type { SyncsRepo } from '../../domains/syncs/syncs.repo.js';
import type { ProviderAdapter } from '../../providers/adapter.js';
import type { CommerceRepo } from './commerce.repo.js';
import { salesIn } from './sales.js';
import { type StockModel, availableOf, eventSku, isStockModel, skuOf, skusOfProducts } from './stock.js';

/** Used until a tenant saves its own threshold. */
export const DEFAULT_LOW_STOCK_THRESHOLD = 10;
/** The summary lists at most this many low items (the lowest first); `count` says how many there are. */
const LOW_STOCK_LISTED = 500;
/** Records read from the change feed per query. */
const FEED_PAGE = 1000;
/** Items of one run told with an event each; the rest of the run's newly low items are told in one summary. */
export const LOW_STOCK_EVENTS_PER_RUN = 100;
/** A summary lists this many of its lowest items. */
const SUMMARY_LISTED = 20;
/** Alert rows written per statement. */
const ALERT_BATCH = 1000;
/** A tenant with more Shopify stores than this sees the first ones (by creation). */
const MAX_STORES = 500;

export type CommerceDeps = {
  repo: CommerceRepo;
  tenancy: Tenancy;
  /** The records store's read API (the change feed): the module reads synced records only through it. */
  records: Pick<SyncsRepo, 'feed'>;
  connections: Pick<ConnectionStore, 'page' | 'byIds'>;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  outbox: Pick<Outbox, 'append'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
};

type Row = { connection_id: string; external_id: string; payload: Record<string, unknown>; change_seq: string; deleted_at: Date | null };

export function createCommerceService(deps: CommerceDeps) {
  /** Every record of a model (optionally of one connection) changed after `after` up to `upTo`, latest versions, deleted ones included. */
  async function* feed(tx: TenantTx, tenantId: string, model: string, f: { connectionId?: string; after?: string; upTo?: string } = {}): AsyncGenerator<Row> {
    let after = f.after ?? '0';
    for (;;) {
      const rows = await deps.records.feed(tx, tenantId, { model, after, limit: FEED_PAGE, ...(f.connectionId ? { connectionId: f.connectionId } : {}) });
      for (const r of rows) {
        if (f.upTo !== undefined && BigInt(r.change_seq) > BigInt(f.upTo)) return;
        yield r as Row;
      }
      if (rows.length < FEED_PAGE) return;
      after = rows.at(-1)!.change_seq;
    }
  }

  /**
   * The live records of a model, each once: a record a sync rewrites while the pages are read moves
   * to a later feed position and is read again, so the last version read wins (a deletion removes it).
   */
  async function live(tx: TenantTx, tenantId: string, model: string) {
    const latest = new Map<string, Row>();
    for await (const r of feed(tx, tenantId, model)) latest.set(`${r.connection_id}\u0000${r.external_id}`, r);
    return [...latest.values()].filter((r) => r.deleted_at === null);
  }

  const thresholdOf = async (tx: TenantTx, tenantId: string) => (await deps.repo.threshold(tx, tenantId)) ?? DEFAULT_LOW_STOCK_THRESHOLD;

  /** Sales of the last 7 and 30 days per Shopify store, and the items under the low-stock threshold. */
  async function summary(p: TenantPrincipal): Promise<CommerceSummary> {
    const now = deps.clock();
    return deps.tenancy.withTenant(p.tenantId, async (tx) => {
      const threshold = await thresholdOf(tx, p.tenantId);
      const { rows: stores } = await deps.connections.page(tx, { provider: 'shopify', isActive: true, limit: MAX_STORES, offset: 0 });
      const ordersOf = new Map<string, Array<Record<string, unknown>>>();
      for (const r of await live(tx, p.tenantId, 'shopify_orders')) {
        const list = ordersOf.get(r.connection_id) ?? [];
        list.push(r.payload);
        ordersOf.set(r.connection_id, list);
      }
      const skus = new Map<string, Map<number, string>>();
      const products = await live(tx, p.tenantId, 'shopify_products');
      for (const id of new Set(products.map((r) => r.connection_id))) skus.set(id, skusOfProducts(products.filter((r) => r.connection_id === id).map((r) => r.payload)));
      const low: Array<{ connectionId: string; model: StockModel; externalId: string; sku: string | null; quantity: number }> = [];
      for (const model of ['shopify_inventory_levels', 'amazon_fba_inventory', 'unleashed_stock_on_hand'] as const) {
        for (const r of await live(tx, p.tenantId, model)) {
          const quantity = availableOf(model, r.payload);
          if (quantity === null || quantity >= threshold) continue;
          low.push({ connectionId: r.connection_id, model, externalId: r.external_id, sku: skuOf(model, r.payload, skus.get(r.connection_id)), quantity });
        }
      }
      const connIds = [...new Set(low.map((l) => l.connectionId))];
      const conns = new Map((connIds.length ? await deps.connections.byIds(tx, connIds) : []).map((c) => [c.id, c]));
      low.sort((a, b) => a.quantity - b.quantity || a.connectionId.localeCompare(b.connectionId) || a.externalId.localeCompare(b.externalId));
      return {
        asOf: now.toISOString(),
        lowStockThreshold: threshold,
        stores: stores.map((s) => ({
          connectionId: s.id, label: s.label, shop: s.config.storeDomain ?? null,
          last7Days: salesIn(ordersOf.get(s.id) ?? [], now, 7), last30Days: salesIn(ordersOf.get(s.id) ?? [], now, 30),
        })),
        lowStock: {
          count: low.length,
          items: low.slice(0, LOW_STOCK_LISTED).map((l) => ({ ...l, provider: conns.get(l.connectionId)?.provider ?? '', label: conns.get(l.connectionId)?.label ?? '' })),
        },
      };
    });
  }

  async function settings(p: TenantPrincipal): Promise<CommerceSettings> {
    return { lowStockThreshold: await deps.tenancy.withTenant(p.tenantId, (tx) => thresholdOf(tx, p.tenantId)) };
  }

  /** A new threshold applies to the summary at once, and to alerts as quantities next change. */
  async function saveSettings(p: TenantPrincipal, input: CommerceSettings): Promise<CommerceSettings> {
    await deps.tenancy.withTenant(p.tenantId, async (tx) => {
      await deps.repo.saveThreshold(tx, p.tenantId, input.lowStockThreshold, deps.clock());
      await deps.audit.record(p, { action: 'commerce_settings.update', entity: { type: 'commerce_settings', id: p.tenantId }, metadata: { lowStockThreshold: input.lowStockThreshold } }, tx);
    });
    return input;
  }

  /**
   * Evaluates one succeeded sync of a stock model over exactly the records it changed (its
   * change-feed range). Called in the run's own closing transaction (runs of a sync never overlap,
   * so the range still holds the versions the run wrote: an item back above the threshold and down
   * again in the next run is seen both times), and again by the outbox consumer (idempotent).
   * An item under the threshold not told yet (or told under another threshold) is told; one at or
   * above it (or deleted) is re-armed. The connection's first evaluated sync and a reset record the
   * low items silently and tell one `commerce.low_stock_summary`; past LOW_STOCK_EVENTS_PER_RUN
   * events in one run, the rest are told in one summary.
   */
  async function evaluateRun(tx: TenantTx, subject: EventSubject, payload: EventPayload<'sync.succeeded'>) {
    if (!('connectionId' in subject)) return;
    const tenantId = scopeTenantId(tx)!;
    const { sync, cursorFrom, cursorTo, trigger } = payload;
    const model = deps.adapterFor({ id: subject.provider }).syncs?.[sync]?.model;
    if (!model || !isStockModel(model) || cursorFrom === null || cursorTo === null) return;
    const threshold = await thresholdOf(tx, tenantId);
    const now = deps.clock();
    const initial = await deps.repo.watch(tx, tenantId, subject.connectionId, model, now);
    const skus = model === 'shopify_inventory_levels' ? skusOfProducts((await live(tx, tenantId, 'shopify_products')).filter((r) => r.connection_id === subject.connectionId).map((r) => r.payload)) : undefined;
    const rearm: string[] = [];
    const low: Array<{ externalId: string; quantity: number; sku: string | null }> = [];
    for await (const r of feed(tx, tenantId, model, { connectionId: subject.connectionId, after: cursorFrom, upTo: cursorTo })) {
      const quantity = r.deleted_at === null ? availableOf(model, r.payload) : null;
      // An id the event could not carry is never told (a payload the schema refuses would fail
      // the whole drain of the tenant, holding back its other events).
      if (quantity === null || quantity >= threshold || !StockItemIdSchema.safeParse(r.external_id).success) rearm.push(r.external_id);
      else low.push({ externalId: r.external_id, quantity, sku: eventSku(skuOf(model, r.payload, skus)) });
    }
    for (let i = 0; i < rearm.length; i += ALERT_BATCH) await deps.repo.rearm(tx, tenantId, subject.connectionId, model, rearm.slice(i, i + ALERT_BATCH));
    const told: typeof low = [];
    for (let i = 0; i < low.length; i += ALERT_BATCH) {
      const batch = low.slice(i, i + ALERT_BATCH);
      const fresh = await deps.repo.markAlerted(tx, tenantId, subject.connectionId, model, batch, threshold, now);
      told.push(...batch.filter((l) => fresh.has(l.externalId)));
    }
    if (told.length === 0) return;
    told.sort((a, b) => a.quantity - b.quantity || a.externalId.localeCompare(b.externalId));
    const quiet = initial || trigger === 'reset';
    const single = quiet ? [] : told.slice(0, LOW_STOCK_EVENTS_PER_RUN);
    for (const t of single) await deps.outbox.append(tx, 'commerce.low_stock', subject, { model, externalId: t.externalId, sku: t.sku, quantity: t.quantity, threshold });
    if (single.length === told.length) return;
    await deps.outbox.append(tx, 'commerce.low_stock_summary', subject, {
      model, reason: initial ? 'initial' : trigger === 'reset' ? 'reset' : 'capped', count: told.length, told: single.length, threshold,
      lowest: told.slice(0, SUMMARY_LISTED).map((t) => ({ externalId: t.externalId, sku: t.sku, quantity: t.quantity })),
    });
  }

  /** Outbox consumer: each `sync.succeeded` evaluated as above, in the drain's transaction. */
  const onEvents: EventConsumer = async (tx, events) => {
    for (const e of events) if (e.type === 'sync.succeeded') await evaluateRun(tx, e.subject as EventSubject, e.payload as EventPayload<'sync.succeeded'>);
  };

  return { summary, settings, saveSettings, onEvents, evaluateRun };
}
export type CommerceService = ReturnType<typeof createCommerceService>;
