import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, EventsTable } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type EventRow = Selectable<EventsTable>;

/** The only SQL for `events` and `event_queue`. Events are appended, never edited or deleted; queue entries are made by a trigger and deleted when taken. */
export function createEventsRepo(db: Kysely<Database>) {
  return {
    insert: (tx: TenantTx, row: { id: string; tenant_id: string; type: string; subject: object; payload: object; created_at: Date }) =>
      tx.insertInto('events').values({ ...row, subject: JSON.stringify(row.subject), payload: JSON.stringify(row.payload) }).execute(),
    insertMany: (tx: TenantTx, rows: Array<{ id: string; tenant_id: string; type: string; subject: object; payload: object; created_at: Date }>) =>
      tx.insertInto('events').values(rows.map((row) => ({ ...row, subject: JSON.stringify(row.subject), payload: JSON.stringify(row.payload) }))).execute(),

    /** Newest first; `since` is inclusive; `connectionId`: events whose subject is that connection. */
    async page(tx: TenantTx, f: { tenantId: string; type?: string; since?: Date; connectionId?: string; limit: number; offset: number }) {
      let q = tx.selectFrom('events').where('tenant_id', '=', f.tenantId);
      // The same expression as the index events_tenant_connection (migration 0041).
      if (f.connectionId) q = q.where(sql<string>`subject ->> 'connectionId'`, '=', f.connectionId);
      if (f.type) q = q.where('type', '=', f.type);
      if (f.since) q = q.where('created_at', '>=', f.since);
      const [rows, total] = await Promise.all([
        q.selectAll().orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute(),
        q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },

    /** Drain: tenants with queued events, across tenants (ids only, SECURITY DEFINER). */
    async pendingTenants(limit: number): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`select keyhold_tenants_with_pending_events(${limit}) as id`.execute(db);
      return rows.map((r) => r.id);
    },
    /**
     * Takes the tenant's oldest queued events: their queue entries are deleted (entries another
     * drainer holds are skipped, not waited for) and the events returned, oldest first. Taken
     * means handed over only when the caller's transaction commits; a rollback queues them again.
     */
    async take(tx: TenantTx, tenantId: string, limit: number): Promise<EventRow[]> {
      const { rows: taken } = await sql<{ id: string }>`select keyhold_take_queued_events(${tenantId}, ${limit}) as id`.execute(tx);
      if (taken.length === 0) return [];
      return tx.selectFrom('events').selectAll().where('tenant_id', '=', tenantId)
        .where(sql<boolean>`id = any(${taken.map((r) => r.id)}::uuid[])`).orderBy('id').execute();
    },
  };
}
export type EventsRepo = ReturnType<typeof createEventsRepo>;
