import { type Insertable, type Kysely, type Selectable, type Updateable, sql } from 'kysely';
import type { ConnectionEventType, ConnectionsTable, Database } from '../../platform/db/schema.js';
import { type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';

export type ConnectionRow = Selectable<ConnectionsTable>;

/**
 * The only SQL that writes `connections` and `connection_events`. Only the connection store
 * (store.ts) calls the writing functions; everything else reaches connections through the store.
 */
export function createConnectionsRepo(db: Kysely<Database>) {
  return {
    insert: (tx: TenantTx, row: Insertable<ConnectionsTable>) => tx.insertInto('connections').values(row).returningAll().executeTakeFirstOrThrow(),
    /** `lock`: true to change the row; 'keyShare' to keep it from being deleted meanwhile (what a foreign key to it takes later anyway, taken first). */
    byId: (tx: TenantTx, id: string, opts: { lock?: boolean | 'keyShare' } = {}) => {
      const q = tx.selectFrom('connections').selectAll().where('id', '=', id);
      return (opts.lock === 'keyShare' ? q.forKeyShare() : opts.lock ? q.forUpdate() : q).executeTakeFirst();
    },
    byIds: (tx: TenantTx, ids: string[]) => tx.selectFrom('connections').selectAll().where('id', 'in', ids).execute(),
    byProviderLabel: (tx: TenantTx, provider: string, label: string, opts: { lock?: boolean } = {}) => {
      const q = tx.selectFrom('connections').selectAll().where('provider', '=', provider).where('label', '=', label);
      return (opts.lock ? q.forUpdate() : q).executeTakeFirst();
    },
    async page(tx: TenantTx, f: { provider?: string; isActive?: boolean; limit: number; offset: number }) {
      let q = tx.selectFrom('connections');
      if (f.provider) q = q.where('provider', '=', f.provider);
      if (f.isActive !== undefined) q = q.where('is_active', '=', f.isActive);
      const [rows, total] = await Promise.all([
        q.selectAll().orderBy('created_at').orderBy('id').limit(f.limit).offset(f.offset).execute(),
        q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },
    count: async (tx: TenantTx) => Number((await tx.selectFrom('connections').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n),
    /** The tenant's connection quota, locked so concurrent creations cannot both take the last slot. */
    maxConnectionsForUpdate: async (tx: TenantTx) => (await tx.selectFrom('tenants').select('max_connections').forUpdate().executeTakeFirstOrThrow()).max_connections,
    /** `lease`: written only while that refresh lease is still held (the fence); it is released. */
    update: (tx: TenantTx, id: string, set: Updateable<ConnectionsTable>, opts: { lease?: string } = {}) => {
      let q = tx.updateTable('connections')
        .set({ ...set, ...(opts.lease ? { refresh_lease_owner: null, refresh_lease_until: null } : {}), updated_at: new Date() })
        .where('id', '=', id);
      if (opts.lease) q = q.where('refresh_lease_owner', '=', opts.lease);
      return q.returningAll().executeTakeFirst();
    },
    /** Records use at most once a minute, so a busy integration does not write on every read. */
    touchLastUsed: (tx: TenantTx, id: string, at: Date) =>
      tx.updateTable('connections').set({ last_used_at: at }).where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(at.getTime() - 60_000))]))
        .execute(),
    touchVerified: (tx: TenantTx, id: string, at: Date) => tx.updateTable('connections').set({ last_verified_at: at }).where('id', '=', id).execute(),
    remove: (tx: TenantTx, id: string) => tx.deleteFrom('connections').where('id', '=', id).execute(),
    insertEvent: (tx: TenantTx, row: { tenant_id: string; connection_id: string; type: ConnectionEventType; detail: object }) =>
      tx.insertInto('connection_events').values({ ...row, detail: JSON.stringify(row.detail) }).execute(),
    events: (tx: TenantTx, connectionId: string) =>
      tx.selectFrom('connection_events').selectAll().where('connection_id', '=', connectionId).orderBy('id').execute(),

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
    /**
     * The refreshed tokens of several connections in one statement, each row still fenced on the
     * lease. Returns the ids written (a row whose lease was lost is left alone). Status is not
     * touched here: a recovery is a transition of its own.
     */
    async writeManyUnderLease(tx: TenantTx, lease: string, items: Array<{ id: string; secrets: string; expiresAt: Date | null; version: number }>): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`
        update connections c set secrets = u.secrets, token_expires_at = u.expires_at, credential_version = u.version,
               refresh_failures = 0, next_refresh_at = null, refresh_lease_owner = null, refresh_lease_until = null, updated_at = now(),
               last_refreshed_at = now()
        from unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => i.secrets)}::text[], ${items.map((i) => i.expiresAt)}::timestamptz[], ${items.map((i) => i.version)}::int[])
             as u(id, secrets, expires_at, version)
        where c.tenant_id = ${scopeTenantId(tx)}::uuid and c.id = u.id and c.refresh_lease_owner = ${lease}::uuid
        returning c.id`.execute(tx);
      return rows.map((r) => r.id);
    },
    /** Scheduler: leases a batch of expiring connections across tenants (ids and tenants only). */
    async claimRefreshBatch(owner: string, now: Date, before: Date, leaseUntil: Date, limit: number) {
      const { rows } = await sql<{ id: string; tenant_id: string }>`
        select id, tenant_id from keyhold_claim_refresh_batch(${owner}::uuid, ${now}, ${before}, ${leaseUntil}, ${limit})`.execute(db);
      return rows;
    },
    /**
     * Scheduler: leases a batch of connections of these providers whose token came from Keyhold's
     * OAuth flow and never expires, for a grant upgrade (ids and tenants only).
     */
    async claimUpgradeBatch(owner: string, now: Date, leaseUntil: Date, providers: string[], limit: number) {
      if (providers.length === 0) return [];
      const { rows } = await sql<{ id: string; tenant_id: string }>`
        select id, tenant_id from keyhold_claim_upgrade_batch(${owner}::uuid, ${now}, ${leaseUntil}, ${providers}::text[], ${limit})`.execute(db);
      return rows;
    },
  };
}
export type ConnectionsRepo = ReturnType<typeof createConnectionsRepo>;
