import type { Insertable, Selectable, Updateable } from 'kysely';
import type { ConnectionsTable } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type ConnectionRow = Selectable<ConnectionsTable>;

export function createConnectionsRepo() {
  return {
    insert: (tx: TenantTx, row: Insertable<ConnectionsTable>) => tx.insertInto('connections').values(row).returningAll().executeTakeFirstOrThrow(),
    byId: (tx: TenantTx, id: string, opts: { lock?: boolean } = {}) => {
      const q = tx.selectFrom('connections').selectAll().where('id', '=', id);
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
    update: (tx: TenantTx, id: string, set: Updateable<ConnectionsTable>) =>
      tx.updateTable('connections').set({ ...set, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),
    byProviderLabel: (tx: TenantTx, provider: string, label: string) =>
      tx.selectFrom('connections').selectAll().where('provider', '=', provider).where('label', '=', label).executeTakeFirst(),
    /** Records use at most once a minute, so a busy integration does not write on every read. */
    touchLastUsed: (tx: TenantTx, id: string, at: Date) =>
      tx.updateTable('connections').set({ last_used_at: at }).where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(at.getTime() - 60_000))]))
        .execute(),
    remove: (tx: TenantTx, id: string) => tx.deleteFrom('connections').where('id', '=', id).execute(),
    /** A change the tenant's owners must hear about (secret rotated, secrets sent elsewhere). */
    insertEvent: (tx: TenantTx, row: { tenant_id: string; connection_id: string; type: 'rotated' | 'destination_changed'; detail: Record<string, unknown> }) =>
      tx.insertInto('connection_events').values({ ...row, detail: JSON.stringify(row.detail) }).execute(),
    /** Health transitions seen by the proxy's circuit breaker: status plus an event row. */
    async setHealth(tx: TenantTx, id: string, status: 'active' | 'degraded', event: 'degraded' | 'recovered') {
      const r = await tx.updateTable('connections').set({ status, updated_at: new Date() }).where('id', '=', id).where('status', 'in', ['active', 'degraded']).returning('tenant_id').executeTakeFirst();
      if (r) await tx.insertInto('connection_events').values({ tenant_id: r.tenant_id, connection_id: id, type: event, detail: JSON.stringify({ source: 'proxy' }) }).execute();
    },
  };
}
export type ConnectionsRepo = ReturnType<typeof createConnectionsRepo>;
