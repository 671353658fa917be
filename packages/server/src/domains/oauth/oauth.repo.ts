import { type Insertable, type Kysely, sql } from 'kysely';
import type { Database, OAuthPendingTable, OAuthStatesTable } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export function createOAuthRepo(db: Kysely<Database>) {
  return {
    insertState: (tx: TenantTx, row: Insertable<OAuthStatesTable>) => tx.insertInto('oauth_states').values(row).execute(),
    /** Which tenant issued a state (by hash); the only cross-tenant read of the callback. */
    async stateTenant(stateHash: string): Promise<string | null> {
      const { rows } = await sql<{ t: string | null }>`select keyhold_oauth_state_tenant(${stateHash}) as t`.execute(db);
      return rows[0]?.t ?? null;
    },
    /** Deletes and returns the state: whoever deletes it first owns the callback (single use). */
    consumeState: (tx: TenantTx, stateHash: string) => tx.deleteFrom('oauth_states').where('state_hash', '=', stateHash).returningAll().executeTakeFirst(),
    async purgeExpired(now: Date): Promise<number> {
      const { rows } = await sql<{ n: number }>`select keyhold_purge_expired_oauth(${now}) as n`.execute(db);
      return rows[0]?.n ?? 0;
    },

    insertPending: (tx: TenantTx, row: Insertable<OAuthPendingTable>) => tx.insertInto('oauth_pending').values(row).execute(),
    pending: (tx: TenantTx, id: string) => tx.selectFrom('oauth_pending').selectAll().where('id', '=', id).executeTakeFirst(),
    consumePending: (tx: TenantTx, id: string) => tx.deleteFrom('oauth_pending').where('id', '=', id).returningAll().executeTakeFirst(),
  };
}
export type OAuthRepo = ReturnType<typeof createOAuthRepo>;
