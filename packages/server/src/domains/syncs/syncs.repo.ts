import { type Kysely, type Selectable, type Updateable, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { RecordsTable, SyncRunsTable } from '../../platform/db/syncs-schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type RunRow = Selectable<SyncRunsTable>;
export type RecordRow = Selectable<RecordsTable>;
/** Which records a statement is about: one connection's one model. */
export type Scope = { tenantId: string; connectionId: string; model: string };
/** One record of a page, its payload already serialized and hashed (hex sha-256 of its canonical JSON). */
export type PageItem = { id: string; json: string; hash: string };
export type Seen = { runId: string; at: Date };

const changeSeq = sql<string>`nextval('records_change_seq')`;

/** The only SQL for `records` and `sync_runs`. */
export function createSyncsRepo(_db: Kysely<Database>) {
  return {
    /**
     * Serializes a tenant's record writers until commit: change_seq is drawn after this lock, so
     * within a tenant the feed's order is the commit order and a reader never skips a change.
     */
    lockTenantFeed: (tx: TenantTx, tenantId: string) =>
      sql`select pg_advisory_xact_lock(hashtextextended(${`records:${tenantId}`}, 0))`.execute(tx).then(() => undefined),

    /**
     * Writes one page in one statement: unchanged records (same payload hash, not deleted) are only
     * marked seen (payload, change_seq and changed_at untouched); new and changed ones, and ones that
     * come back after a delete, are written with a fresh change_seq. `force` (a reset) rewrites all.
     */
    async writePage(tx: TenantTx, s: Scope, items: PageItem[], seen: Seen, force: boolean) {
      if (items.length === 0) return { added: 0, updated: 0, seqs: [] as string[] };
      const rows = await sql<{ inserted: boolean; change_seq: string }>`
        with u as (
          select u.id, u.payload, decode(u.hash, 'hex') as hash, u.n
          from unnest(${items.map((i) => i.id)}::text[], ${items.map((i) => i.json)}::text[], ${items.map((i) => i.hash)}::text[]) with ordinality as u(id, payload, hash, n)
        ), unchanged as (
          update records r set last_seen_at = ${seen.at}, seen_run_id = ${seen.runId}
          from u
          where not ${force} and r.tenant_id = ${s.tenantId} and r.connection_id = ${s.connectionId} and r.model = ${s.model}
            and r.external_id = u.id and r.payload_hash = u.hash and r.deleted_at is null
          returning r.external_id
        )
        insert into records (tenant_id, connection_id, model, external_id, payload, payload_hash, first_seen_at, last_seen_at, seen_run_id, changed_at, deleted_at, change_seq)
        select ${s.tenantId}, ${s.connectionId}, ${s.model}, u.id, u.payload::jsonb, u.hash, ${seen.at}, ${seen.at}, ${seen.runId}, ${seen.at}, null, ${changeSeq}
        from u where not exists (select 1 from unchanged c where c.external_id = u.id)
        order by u.n
        on conflict (tenant_id, connection_id, model, external_id) do update set
          payload = excluded.payload, payload_hash = excluded.payload_hash, last_seen_at = excluded.last_seen_at,
          seen_run_id = excluded.seen_run_id, changed_at = excluded.changed_at, deleted_at = null, change_seq = excluded.change_seq
        where ${force} or records.payload_hash <> excluded.payload_hash or records.deleted_at is not null
        returning (xmax = 0) as inserted, change_seq`.execute(tx);
      const added = rows.rows.filter((r) => r.inserted).length;
      return { added, updated: rows.rows.length - added, seqs: rows.rows.map((r) => r.change_seq) };
    },

    /** Deletes (soft) the records a successful full run did not see. */
    async deleteUnseen(tx: TenantTx, s: Scope, seen: Seen) {
      const rows = await sql<{ change_seq: string }>`
        update records set deleted_at = ${seen.at}, changed_at = ${seen.at}, change_seq = ${changeSeq}
        where tenant_id = ${s.tenantId} and connection_id = ${s.connectionId} and model = ${s.model}
          and deleted_at is null and seen_run_id <> ${seen.runId}
        returning change_seq`.execute(tx);
      return { deleted: rows.rows.length, seqs: rows.rows.map((r) => r.change_seq) };
    },

    /** Deletes (soft) the records the provider reported deleted. */
    async deleteIds(tx: TenantTx, s: Scope, ids: string[], seen: Seen) {
      if (ids.length === 0) return { deleted: 0, seqs: [] as string[] };
      const rows = await sql<{ change_seq: string }>`
        update records set deleted_at = ${seen.at}, changed_at = ${seen.at}, change_seq = ${changeSeq}, seen_run_id = ${seen.runId}
        where tenant_id = ${s.tenantId} and connection_id = ${s.connectionId} and model = ${s.model}
          and deleted_at is null and external_id = any(${ids}::text[])
        returning change_seq`.execute(tx);
      return { deleted: rows.rows.length, seqs: rows.rows.map((r) => r.change_seq) };
    },

    /** The change feed: records of `model` changed after `after`, in change order (deleted ones included). */
    feed: (tx: TenantTx, tenantId: string, f: { model: string; connectionId?: string; after: string; limit: number }) => {
      let q = tx.selectFrom('records').selectAll().where('tenant_id', '=', tenantId).where('model', '=', f.model).where('change_seq', '>', f.after);
      if (f.connectionId) q = q.where('connection_id', '=', f.connectionId);
      return q.orderBy('change_seq').limit(f.limit).execute();
    },

    /** Closes a `running` row whose lease ran out (its process died), so a new run may start. */
    closeExpired: (tx: TenantTx, tenantId: string, connectionId: string, sync: string, now: Date) =>
      tx.updateTable('sync_runs').set({ status: 'failed', finished_at: now, error_code: 'lease_expired' })
        .where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('sync', '=', sync)
        .where('status', '=', 'running').where('lease_until', '<', now).execute(),

    /** Inserts the run as `running` unless one is running already (then null): the run's lease. */
    startRun: async (tx: TenantTx, row: Omit<RunRow, 'status' | 'finished_at' | 'added' | 'updated' | 'deleted' | 'pages' | 'provider_calls' | 'checkpoint' | 'cursor_from' | 'cursor_to' | 'error_code' | 'rate_wait_ms'>) => {
      const r = await sql<{ id: string }>`
        insert into sync_runs (id, tenant_id, connection_id, sync, trigger, mode, started_at, lease_until, attempt, due_at)
        values (${row.id}, ${row.tenant_id}, ${row.connection_id}, ${row.sync}, ${row.trigger}, ${row.mode}, ${row.started_at}, ${row.lease_until}, ${row.attempt}, ${row.due_at})
        on conflict (tenant_id, connection_id, sync) where status = 'running' do nothing
        returning id`.execute(tx);
      return r.rows[0]?.id ?? null;
    },

    /** A run that was not started (its connection cannot be used): recorded, closed at once, with its code. */
    recordSkipped: (tx: TenantTx, row: Pick<RunRow, 'id' | 'tenant_id' | 'connection_id' | 'sync' | 'trigger' | 'mode' | 'started_at' | 'attempt' | 'due_at' | 'error_code'>) =>
      tx.insertInto('sync_runs').values({ ...row, status: 'skipped', lease_until: row.started_at, finished_at: row.started_at }).execute(),

    /** Progress of a running run (also renews its lease); false when the run is no longer ours. */
    progress: async (tx: TenantTx, tenantId: string, id: string, set: Updateable<SyncRunsTable>) =>
      (await tx.updateTable('sync_runs').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'running').executeTakeFirst()).numUpdatedRows > 0n,

    /** Closes a running run; false when it is no longer running (its lease ran out and another run closed it). */
    finishRun: async (tx: TenantTx, tenantId: string, id: string, set: Updateable<SyncRunsTable>) =>
      (await tx.updateTable('sync_runs').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'running').executeTakeFirst()).numUpdatedRows > 0n,

    /** Failed runs of this (connection, sync) since its last success: the failing streak. */
    failedStreak: async (tx: TenantTx, tenantId: string, connectionId: string, sync: string): Promise<number> => {
      const last = await tx.selectFrom('sync_runs').select('id').where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('sync', '=', sync).where('status', '=', 'succeeded').orderBy('id', 'desc').limit(1).executeTakeFirst();
      let q = tx.selectFrom('sync_runs').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenantId)
        .where('connection_id', '=', connectionId).where('sync', '=', sync).where('status', '=', 'failed');
      if (last) q = q.where('id', '>', last.id);
      return Number((await q.executeTakeFirstOrThrow()).n);
    },

    /** The checkpoint of the last succeeded run (where the next incremental run starts). */
    lastCheckpoint: async (tx: TenantTx, tenantId: string, connectionId: string, sync: string) =>
      (await tx.selectFrom('sync_runs').select('checkpoint').where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('sync', '=', sync).where('status', '=', 'succeeded').orderBy('id', 'desc').limit(1).executeTakeFirst())?.checkpoint ?? null,

    /** Every sync schedule of the tenant's connections that can be used now (run-all). */
    usableSyncs: (tx: TenantTx, tenantId: string) =>
      tx.selectFrom('sync_schedules as s').innerJoin('connections as c', 'c.id', 's.connection_id')
        .select(['s.connection_id', 's.sync', 'c.provider'])
        .where('s.tenant_id', '=', tenantId).where('c.tenant_id', '=', tenantId).where('c.is_active', '=', true).where('c.status', 'in', ['active', 'degraded'])
        .orderBy('c.provider').orderBy('c.label').orderBy('s.sync').execute(),

    listRuns: async (tx: TenantTx, tenantId: string, f: { connectionId?: string; sync?: string; page: number; limit: number }) => {
      let q = tx.selectFrom('sync_runs').where('tenant_id', '=', tenantId);
      if (f.connectionId) q = q.where('connection_id', '=', f.connectionId);
      if (f.sync) q = q.where('sync', '=', f.sync);
      const rows = await q.selectAll().orderBy('id', 'desc').limit(f.limit).offset((f.page - 1) * f.limit).execute();
      const total = await q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(total.n) };
    },
  };
}
export type SyncsRepo = ReturnType<typeof createSyncsRepo>;

