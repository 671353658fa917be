import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type SnapshotInput = {
  tenantId: string;
  date: string;
  currency: string | null;
  source: 'xero' | 'quickbooks';
  connectionId: string;
  receivablesCents: number;
  payablesCents: number;
  inventoryCents: number | null;
  cashCents: number | null;
  asOf: Date;
};

const money = (cents: number | null) => (cents === null ? null : (cents / 100).toFixed(2));
const columns = [
  sql<string>`metric_date::text`.as('date'), 'source', 'connection_id', 'currency', 'accounts_receivable', 'accounts_payable', 'inventory_value', 'cash_balance',
  'working_capital', 'current_ratio', 'as_of',
] as const;

/** The only SQL for `working_capital_metrics`. */
export function createWorkingCapitalRepo(db: Kysely<Database>) {
  return {
    /** One snapshot per connection and day: a second one the same day replaces the figures. */
    upsert: (tx: TenantTx, s: SnapshotInput, now: Date) =>
      tx.insertInto('working_capital_metrics').values({
        tenant_id: s.tenantId, metric_date: s.date, source: s.source, connection_id: s.connectionId, currency: s.currency,
        accounts_receivable: money(s.receivablesCents)!, accounts_payable: money(s.payablesCents)!,
        inventory_value: money(s.inventoryCents), cash_balance: money(s.cashCents), as_of: s.asOf, updated_at: now,
      }).onConflict((oc) => oc.columns(['tenant_id', 'connection_id', 'metric_date']).doUpdateSet((eb) => ({
        source: eb.ref('excluded.source'), currency: eb.ref('excluded.currency'),
        accounts_receivable: eb.ref('excluded.accounts_receivable'), accounts_payable: eb.ref('excluded.accounts_payable'),
        inventory_value: eb.ref('excluded.inventory_value'), cash_balance: eb.ref('excluded.cash_balance'),
        as_of: eb.ref('excluded.as_of'), updated_at: eb.ref('excluded.updated_at'),
      }))).execute(),

    /** The newest snapshot of this connection (its database fallback; never another company's). */
    latest: (tx: TenantTx, tenantId: string, connectionId: string) =>
      tx.selectFrom('working_capital_metrics').select(columns).where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .orderBy('metric_date', 'desc').limit(1).executeTakeFirst(),

    /** One connection's snapshots of the days from `from` to `to` (inclusive), oldest first. */
    between: (tx: TenantTx, tenantId: string, connectionId: string, from: string, to: string) =>
      tx.selectFrom('working_capital_metrics').select(columns).where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('metric_date', '>=', from).where('metric_date', '<=', to).orderBy('metric_date').execute(),

    /** Tenants with an active connection to one of `providers` (ids only, across tenants: the daily job). */
    tenantsWith: async (providers: readonly string[]) =>
      (await sql<{ id: string }>`select keyhold_tenants_with_providers(${[...providers]}::text[]) as id`.execute(db)).rows.map((r) => r.id),
  };
}
export type WorkingCapitalRepo = ReturnType<typeof createWorkingCapitalRepo>;
export type SnapshotRow = Awaited<ReturnType<WorkingCapitalRepo['between']>>[number];
