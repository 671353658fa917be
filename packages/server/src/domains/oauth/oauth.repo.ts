import { type Insertable, type Kysely, type Updateable, sql } from 'kysely';
import type { ConnectionEventsTable, ConnectionsTable, Database, OAuthPendingTable, OAuthStatesTable } from '../../platform/db/schema.js';
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

    byProviderLabel: (tx: TenantTx, provider: string, label: string, opts: { lock?: boolean } = {}) => {
      const q = tx.selectFrom('connections').selectAll().where('provider', '=', provider).where('label', '=', label);
      return (opts.lock ? q.forUpdate() : q).executeTakeFirst();
    },
    byId: (tx: TenantTx, id: string) => tx.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst(),
    byIds: (tx: TenantTx, ids: string[]) => tx.selectFrom('connections').selectAll().where('id', 'in', ids).execute(),
    insertConnection: (tx: TenantTx, row: Insertable<ConnectionsTable>) => tx.insertInto('connections').values(row).returningAll().executeTakeFirstOrThrow(),
    updateConnection: (tx: TenantTx, id: string, set: Updateable<ConnectionsTable>) =>
      tx.updateTable('connections').set({ ...set, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),

    /**
     * Takes the refresh lease if nobody holds a live one (`lease` is unique per attempt, so two
     * requests in one process exclude each other too). Returns the row as of taking it, so the
     * caller refreshes with the refresh token stored at that moment.
     */
    acquireLease: (tx: TenantTx, id: string, lease: string, now: Date, until: Date) =>
      tx.updateTable('connections').set({ refresh_lease_owner: lease, refresh_lease_until: until })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', now)]))
        .returningAll().executeTakeFirst(),
    /** Writes only while still holding the lease (the fence); `undefined` means it was lost. */
    writeUnderLease: (tx: TenantTx, id: string, owner: string, set: Updateable<ConnectionsTable>) =>
      tx.updateTable('connections').set({ ...set, refresh_lease_owner: null, refresh_lease_until: null, updated_at: new Date() })
        .where('id', '=', id).where('refresh_lease_owner', '=', owner)
        .returningAll().executeTakeFirst(),
    /**
     * The refreshed tokens of several connections in one statement, each row still fenced on the
     * lease. Returns the ids written (a row whose lease was lost is left alone).
     */
    async writeManyUnderLease(tx: TenantTx, lease: string, items: Array<{ id: string; secrets: string; expiresAt: Date | null; version: number }>): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`
        update connections c set secrets = u.secrets, token_expires_at = u.expires_at, credential_version = u.version,
               refresh_failures = 0, next_refresh_at = null, status = 'active', refresh_lease_owner = null, refresh_lease_until = null, updated_at = now()
        from unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => i.secrets)}::text[], ${items.map((i) => i.expiresAt)}::timestamptz[], ${items.map((i) => i.version)}::int[])
             as u(id, secrets, expires_at, version)
        where c.id = u.id and c.refresh_lease_owner = ${lease}::uuid
        returning c.id`.execute(tx);
      return rows.map((r) => r.id);
    },
    /** Scheduler: leases a batch of expiring connections across tenants (ids and tenants only). */
    async claimBatch(owner: string, now: Date, before: Date, leaseUntil: Date, limit: number) {
      const { rows } = await sql<{ id: string; tenant_id: string }>`
        select id, tenant_id from keyhold_claim_refresh_batch(${owner}::uuid, ${now}, ${before}, ${leaseUntil}, ${limit})`.execute(db);
      return rows;
    },

    insertEvent: (tx: TenantTx, row: Insertable<ConnectionEventsTable>) => tx.insertInto('connection_events').values(row).execute(),
    events: (tx: TenantTx, connectionId: string) =>
      tx.selectFrom('connection_events').selectAll().where('connection_id', '=', connectionId).orderBy('id').execute(),
  };
}
export type OAuthRepo = ReturnType<typeof createOAuthRepo>;
