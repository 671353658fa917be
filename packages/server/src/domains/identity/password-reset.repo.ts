import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

/** The only SQL for `password_reset_tokens`; every statement names the tenant (RLS is the second guard). */
export function createPasswordResetRepo(db: Kysely<Database>) {
  return {
    insert: (tx: TenantTx, row: { tenant_id: string; user_id: string; token_hash: string; created_at: Date; expires_at: Date }) =>
      tx.insertInto('password_reset_tokens').values(row).execute(),
    /** A token's tenant, across tenants (id only, SECURITY DEFINER). */
    async tenantOf(hash: string): Promise<string | undefined> {
      const { rows } = await sql<{ id: string | null }>`select keyhold_password_reset_tenant(${hash}) as id`.execute(db);
      return rows[0]?.id ?? undefined;
    },
    /** The token's row, locked: of two resets with one token, the second sees it used. */
    byHash: (tx: TenantTx, tenantId: string, hash: string) =>
      tx.selectFrom('password_reset_tokens').selectAll().where('tenant_id', '=', tenantId).where('token_hash', '=', hash).forUpdate().executeTakeFirst(),
    /** Spends every unused token of the user (the one used, and older ones a new request superseded). */
    useAll: (tx: TenantTx, tenantId: string, userId: string, at: Date) =>
      tx.updateTable('password_reset_tokens').set({ used_at: at }).where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('used_at', 'is', null).execute(),
  };
}
export type PasswordResetRepo = ReturnType<typeof createPasswordResetRepo>;
