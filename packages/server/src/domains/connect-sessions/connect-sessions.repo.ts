import { type Insertable, type Kysely, sql } from 'kysely';
import type { ConnectSessionsTable, Database } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export function createConnectSessionsRepo(db: Kysely<Database>) {
  return {
    insert: (tx: TenantTx, row: Insertable<ConnectSessionsTable>) => tx.insertInto('connect_sessions').values(row).returningAll().executeTakeFirstOrThrow(),
    /** Which tenant issued a token (by hash); the only cross-tenant read of the Connect page. */
    async tenantOf(tokenHash: string): Promise<string | null> {
      const { rows } = await sql<{ t: string | null }>`select keyhold_connect_session_tenant(${tokenHash}) as t`.execute(db);
      return rows[0]?.t ?? null;
    },
    byHash: (tx: TenantTx, tenantId: string, tokenHash: string) =>
      tx.selectFrom('connect_sessions').selectAll().where('tenant_id', '=', tenantId).where('token_hash', '=', tokenHash).executeTakeFirst(),
    /** Locks the row: a second completion waits here until the first commits or rolls back. */
    lockById: (tx: TenantTx, tenantId: string, id: string) =>
      tx.selectFrom('connect_sessions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst(),
    async markUsed(tx: TenantTx, tenantId: string, id: string, connectionId: string, at: Date): Promise<boolean> {
      const r = await tx.updateTable('connect_sessions').set({ used_at: at, connection_id: connectionId })
        .where('tenant_id', '=', tenantId).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
      return r.numUpdatedRows === 1n;
    },
  };
}
export type ConnectSessionsRepo = ReturnType<typeof createConnectSessionsRepo>;
