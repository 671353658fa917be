import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import { TENANT_TABLES } from '../../platform/db/tenant-predicate-plugin.js';
import { type ScopedTx, scopeTenantId } from '../../platform/db/tenancy.js';
import type { CrossTenantTx } from '../audit/audit.repo.js';
import type { VaultRecordLocation } from './records.js';

const ofScope = (tx: ScopedTx) => {
  const tenantId = scopeTenantId(tx);
  return tenantId === null ? sql<boolean>`tenant_id is null` : sql<boolean>`tenant_id = ${tenantId}`;
};

/** A tenant table's rows of the transaction's tenant, named besides RLS (docs/scale.md); platform tables have no tenant column. */
const ofLocation = (tx: ScopedTx, loc: VaultRecordLocation) => {
  const tenantId = scopeTenantId(tx);
  return tenantId !== null && TENANT_TABLES.has(loc.table) ? sql`and tenant_id = ${tenantId}::uuid` : sql``;
};

/** SQL for `tenant_keys`, always inside the scope (tenant or platform) of the transaction. */
export function createVaultRepo(db: Kysely<Database>) {
  return {
    latestActive: (tx: ScopedTx) =>
      tx.selectFrom('tenant_keys').selectAll().where(ofScope(tx)).where('state', '=', 'active').orderBy('version', 'desc').limit(1).executeTakeFirst(),
    byVersion: (tx: ScopedTx, version: number) =>
      tx.selectFrom('tenant_keys').selectAll().where(ofScope(tx)).where('version', '=', version).executeTakeFirst(),
    all: (tx: ScopedTx) => tx.selectFrom('tenant_keys').selectAll().where(ofScope(tx)).orderBy('version').execute(),
    /** Inserts a version unless a concurrent writer already did; the caller re-reads. */
    insert: (tx: ScopedTx, row: { version: number; wrapped_dek: string; kek_id: string }) =>
      tx
        .insertInto('tenant_keys')
        .values({ tenant_id: scopeTenantId(tx), ...row })
        .onConflict((oc) => oc.constraint('tenant_keys_version').doNothing())
        .execute(),
    /** Replaces a wrapping only while it is still under `fromKek`; true when it did. */
    async rewrap(tx: ScopedTx, version: number, fromKek: string, row: { wrapped_dek: string; kek_id: string }): Promise<boolean> {
      const r = await tx.updateTable('tenant_keys').set(row).where(ofScope(tx)).where('version', '=', version).where('kek_id', '=', fromKek).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },
    retire: (tx: ScopedTx, version: number, at: Date) =>
      tx.updateTable('tenant_keys').set({ state: 'retired', retired_at: at }).where(ofScope(tx)).where('version', '=', version).execute(),
    /** Serialises key creation and rotation within one scope. */
    lockScope: (tx: ScopedTx) => sql`select pg_advisory_xact_lock(hashtext('keyhold.vault:' || ${scopeTenantId(tx) ?? 'platform'}))`.execute(tx),

    /** How many records of one location use each DEK version (in the transaction's scope). */
    async countByVersion(tx: ScopedTx, loc: VaultRecordLocation): Promise<Map<number, number>> {
      const col = sql.ref(loc.column);
      const { rows } = await sql<{ version: number; n: number }>`
        select split_part(${col}, '.', 2)::int as version, count(*)::int as n
        from ${sql.table(loc.table)} where ${col} like 'kh1.%' ${ofLocation(tx, loc)} group by 1`.execute(tx);
      return new Map(rows.map((r) => [r.version, r.n]));
    },
    /** Rows of a location still on a version older than `latest`, locked, skipping rows others hold. */
    async staleRows(tx: ScopedTx, loc: VaultRecordLocation, latest: number, limit: number) {
      const col = sql.ref(loc.column);
      const { rows } = await sql<{ id: string; value: string }>`
        select id, ${col} as value from ${sql.table(loc.table)}
        where ${col} like 'kh1.%' and split_part(${col}, '.', 2)::int < ${latest} ${ofLocation(tx, loc)}
        order by id limit ${limit} for update skip locked`.execute(tx);
      return rows;
    },
    /** Compare-and-set, so a value rewritten meanwhile by its owner is left alone. */
    async replaceCiphertext(tx: ScopedTx, loc: VaultRecordLocation, id: string, from: string, to: string) {
      const col = sql.ref(loc.column);
      await sql`update ${sql.table(loc.table)} set ${col} = ${to} where id = ${id} and ${col} = ${from} ${ofLocation(tx, loc)}`.execute(tx);
    },

    /** Scopes holding a data key not wrapped by `kekId` (ids only; null = platform first, then by id). */
    async scopesNotUnder(kekId: string): Promise<Array<string | null>> {
      const { rows } = await sql<{ tenant_id: string | null }>`select tenant_id from keyhold_key_scopes_not_under(${kekId})`.execute(db);
      return rows.map((r) => r.tenant_id);
    },
    /** Every data key of these tenants, each tenant's read in its own context (migration 0045). */
    async keysOfTenants(tenantIds: string[]) {
      const { rows } = await sql<{ tenant_id: string; version: number; kek_id: string; wrapped_dek: string }>`
        select tenant_id, version, kek_id, wrapped_dek from keyhold_data_keys_of(${tenantIds}::uuid[])`.execute(db);
      return rows;
    },
    /** One transaction with no tenant of its own, for the cross-tenant batch statements below. */
    crossTenant: <T>(fn: (tx: CrossTenantTx) => Promise<T>) => db.transaction().execute(fn),
    /** Replaces each wrapping only while it is still exactly `from`; returns those it replaced. */
    async rewrapEach(tx: CrossTenantTx, rows: Array<{ tenantId: string; version: number; from: string; to: string }>, toKek: string) {
      const { rows: done } = await sql<{ tenant_id: string; version: number }>`
        select tenant_id, version from keyhold_rewrap_data_keys(${rows.map((r) => r.tenantId)}::uuid[], ${rows.map((r) => r.version)}::int[],
          ${rows.map((r) => r.from)}::text[], ${rows.map((r) => r.to)}::text[], ${toKek})`.execute(tx);
      return done;
    },

    /** Every scope that holds keys (ids only; null = platform). */
    async scopes(): Promise<Array<string | null>> {
      const { rows } = await sql<{ tenant_id: string | null }>`select tenant_id from keyhold_key_scopes()`.execute(db);
      return rows.map((r) => r.tenant_id);
    },
  };
}
export type VaultRepo = ReturnType<typeof createVaultRepo>;
