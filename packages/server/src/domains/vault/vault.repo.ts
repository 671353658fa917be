import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import { type ScopedTx, scopeTenantId } from '../../platform/db/tenancy.js';

const ofScope = (tx: ScopedTx) => {
  const tenantId = scopeTenantId(tx);
  return tenantId === null ? sql<boolean>`tenant_id is null` : sql<boolean>`tenant_id = ${tenantId}`;
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
    rewrap: (tx: ScopedTx, version: number, fromKek: string, row: { wrapped_dek: string; kek_id: string }) =>
      tx.updateTable('tenant_keys').set(row).where(ofScope(tx)).where('version', '=', version).where('kek_id', '=', fromKek).execute(),
    retire: (tx: ScopedTx, version: number, at: Date) =>
      tx.updateTable('tenant_keys').set({ state: 'retired', retired_at: at }).where(ofScope(tx)).where('version', '=', version).execute(),
    /** Serialises key creation and rotation within one scope. */
    lockScope: (tx: ScopedTx) => sql`select pg_advisory_xact_lock(hashtext('keyhold.vault:' || ${scopeTenantId(tx) ?? 'platform'}))`.execute(tx),

    /** Every scope that holds keys (ids only; null = platform). */
    async scopes(): Promise<Array<string | null>> {
      const { rows } = await sql<{ tenant_id: string | null }>`select tenant_id from keyhold_key_scopes()`.execute(db);
      return rows.map((r) => r.tenant_id);
    },
  };
}
export type VaultRepo = ReturnType<typeof createVaultRepo>;
