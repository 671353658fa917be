import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type RateRow = { connection_id: string; currency: string; rate_date: string; home_currency: string; rate: string; source: string; synced_at: Date | null; error_code: string | null };

/** The only SQL for the exchange-rate tables (migrations 0029, 0032). */
export function createExchangeRatesRepo(db: Kysely<Database>) {
  return {
    /** Tenants with a QuickBooks company (ids only, across tenants): the daily schedule's fan-out. */
    tenantsWithCompanies: async () => (await sql<{ id: string }>`select keyhold_exchange_rate_tenants() as id`.execute(db)).rows.map((r) => r.id),

    settings: (tx: TenantTx, tenantId: string) =>
      tx.selectFrom('exchange_rate_settings').select(['connection_id', 'enabled', 'currencies']).where('tenant_id', '=', tenantId).execute(),

    putSettings: (tx: TenantTx, row: { tenant_id: string; connection_id: string; enabled: boolean; currencies: string[] | null; updated_at: Date }) =>
      tx.insertInto('exchange_rate_settings').values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'connection_id']).doUpdateSet({ enabled: row.enabled, currencies: row.currencies, updated_at: row.updated_at }))
        .execute(),

    /** The rate as computed for the company; a changed rate is pending again until written. */
    putRate: (tx: TenantTx, row: { tenant_id: string; connection_id: string; currency: string; rate_date: string; home_currency: string; rate: number; source: string; updated_at: Date }) =>
      sql`insert into exchange_rates (tenant_id, connection_id, currency, rate_date, home_currency, rate, source, updated_at)
          values (${row.tenant_id}, ${row.connection_id}, ${row.currency}, ${row.rate_date}::date, ${row.home_currency}, ${row.rate}, ${row.source}, ${row.updated_at})
          on conflict (tenant_id, connection_id, currency, rate_date) do update set
            home_currency = excluded.home_currency, rate = excluded.rate, source = excluded.source, updated_at = excluded.updated_at,
            synced_at = case when exchange_rates.rate = excluded.rate and exchange_rates.home_currency = excluded.home_currency then exchange_rates.synced_at end`.execute(tx),

    /**
     * What the write action did with the rate. Only a row still holding the rate and home currency
     * that were written is touched: a newer rate stored meanwhile (another sync) stays pending.
     */
    markRate: (tx: TenantTx, tenantId: string, k: { connectionId: string; currency: string; date: string }, set: { rate: number; home_currency: string; synced_at: Date | null; action_run_id: string; error_code: string | null }) =>
      sql`update exchange_rates set synced_at = coalesce(${set.synced_at}, synced_at), action_run_id = ${set.action_run_id}, error_code = ${set.error_code}
          where tenant_id = ${tenantId} and connection_id = ${k.connectionId} and currency = ${k.currency} and rate_date = ${k.date}::date
            and rate = ${set.rate} and home_currency = ${set.home_currency}`.execute(tx),

    insertRun: (tx: TenantTx, row: { id: string; tenant_id: string; connection_id: string; rate_date: string; trigger: 'manual' | 'schedule'; status: 'succeeded' | 'failed'; rates_synced: number; error_code: string | null; started_at: Date; finished_at: Date }) =>
      tx.insertInto('exchange_rate_runs').values(row).execute(),

    rates: async (tx: TenantTx, tenantId: string, f: { connectionId?: string; date?: string; limit: number }) => {
      let q = tx.selectFrom('exchange_rates').where('tenant_id', '=', tenantId);
      if (f.connectionId) q = q.where('connection_id', '=', f.connectionId);
      if (f.date) q = q.where(sql<boolean>`rate_date = ${f.date}::date`);
      return q.select(['connection_id', 'currency', sql<string>`rate_date::text`.as('rate_date'), 'home_currency', sql<string>`trim_scale(rate)::text`.as('rate'), 'source', 'synced_at', 'error_code'])
        .orderBy('rate_date', 'desc').orderBy('connection_id').orderBy('currency').limit(f.limit).execute() as Promise<RateRow[]>;
    },

    /** Per company: rate counts and sync attempts, and its last successful sync. */
    stats: async (tx: TenantTx, tenantId: string) => {
      const rates = await sql<{ connection_id: string; total: string; synced: string }>`
        select connection_id, count(*) as total, count(synced_at) as synced from exchange_rates where tenant_id = ${tenantId} group by connection_id`.execute(tx);
      const runs = await sql<{ connection_id: string; total: string; successful: string; last_success: Date | null; last_at: Date | null }>`
        select connection_id, count(*) as total, count(*) filter (where status = 'succeeded') as successful,
               max(finished_at) filter (where status = 'succeeded') as last_success, max(finished_at) as last_at
        from exchange_rate_runs where tenant_id = ${tenantId} group by connection_id`.execute(tx);
      return { rates: rates.rows, runs: runs.rows };
    },
  };
}
export type ExchangeRatesRepo = ReturnType<typeof createExchangeRatesRepo>;
