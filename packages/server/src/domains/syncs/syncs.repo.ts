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

/**
 * Draws `n` positions of the tenant's change feed and returns the last one before them (the
 * positions are base+1 … base+n). The tenant's row in `record_feed_positions` stays locked until
 * commit: a tenant's record writers take turns, so its cursor order is its commit order. The base
 * is also left in a transaction setting for `nextPosition` (statements that cannot count ahead).
 */
async function drawPositions(tx: TenantTx, tenantId: string, n: number): Promise<bigint> {
  const r = await sql<{ base: string }>`
    insert into record_feed_positions as p (tenant_id, last_seq) values (${tenantId}, ${n})
    on conflict (tenant_id) do update set last_seq = p.last_seq + ${n}
    returning last_seq - ${n} as base, set_config('keyhold.feed_position', (last_seq - ${n})::text, true)`.execute(tx);
  return BigInt(r.rows[0]!.base);
}

/**
 * The next feed position, counted per row by the statement itself (after `drawPositions(tx, t, 0)`,
 * which locked the tenant's row; draw what was used afterwards). Deletes use it because a join that
 * numbers the rows would leave the plan to statistics, and a table not yet analyzed may be scanned
 * once per row.
 */
const nextPosition = sql<string>`set_config('keyhold.feed_position', (current_setting('keyhold.feed_position')::bigint + 1)::text, true)::bigint`;

/** The only SQL for `records` and `sync_runs`. */
export function createSyncsRepo(_db: Kysely<Database>) {
  return {
    /**
     * Serializes the tenant's record writers until commit (the writes below take it themselves):
     * within a tenant the feed's order is the commit order and a reader never skips a change.
     */
    lockTenantFeed: (tx: TenantTx, tenantId: string) => drawPositions(tx, tenantId, 0).then(() => undefined),

    /**
     * Writes one page in one statement: unchanged records (same payload hash, not deleted) are only
     * marked seen (payload, cursor and changed_at kept); new and changed ones, and ones that come
     * back after a delete, take the page's next feed position. `force` (a reset) rewrites all.
     *
     * Existing records are found by the insert's conflict check, a primary-key probe per item: a
     * join against `records` would leave the plan to the table's statistics, and on a table not yet
     * analyzed the planner may scan the connection's every record on each page. The page draws one
     * position per item (unchanged ones leave a gap in the tenant's own feed); rewritten rows are
     * those whose cursor is past the base.
     */
    async writePage(tx: TenantTx, s: Scope, items: PageItem[], seen: Seen, force: boolean) {
      if (items.length === 0) return { added: 0, updated: 0, seqs: [] as string[] };
      const base = await drawPositions(tx, s.tenantId, items.length);
      const changed = sql`(${force} or records.payload_hash <> excluded.payload_hash or records.deleted_at is not null)`;
      const rows = await sql<{ inserted: boolean; change_seq: string }>`
        insert into records (tenant_id, connection_id, model, external_id, payload, payload_hash, first_seen_at, last_seen_at, seen_run_id, changed_at, deleted_at, change_seq)
        select ${s.tenantId}, ${s.connectionId}, ${s.model}, u.id, u.payload::jsonb, decode(u.hash, 'hex'), ${seen.at}, ${seen.at}, ${seen.runId}, ${seen.at}, null, ${String(base)}::bigint + u.n
        from unnest(${items.map((i) => i.id)}::text[], ${items.map((i) => i.json)}::text[], ${items.map((i) => i.hash)}::text[]) with ordinality as u(id, payload, hash, n)
        order by u.n
        on conflict (tenant_id, connection_id, model, external_id) do update set
          last_seen_at = excluded.last_seen_at, seen_run_id = excluded.seen_run_id, deleted_at = null,
          payload = case when ${changed} then excluded.payload else records.payload end,
          payload_hash = excluded.payload_hash,
          changed_at = case when ${changed} then excluded.changed_at else records.changed_at end,
          change_seq = case when ${changed} then excluded.change_seq else records.change_seq end
        returning (xmax = 0) as inserted, change_seq`.execute(tx);
      const written = rows.rows.filter((r) => BigInt(r.change_seq) > base);
      const added = written.filter((r) => r.inserted).length;
      return { added, updated: written.length - added, seqs: written.map((r) => r.change_seq) };
    },

    /**
     * Deletes (soft) the records a successful full run did not see; each takes a feed position.
     * `seenBefore` (a run id): only records last seen before that run, i.e. missed by it as well
     * (run ids are UUIDv7, ordered by time).
     */
    async deleteUnseen(tx: TenantTx, s: Scope, seen: Seen, seenBefore?: string) {
      await drawPositions(tx, s.tenantId, 0);
      const rows = await sql<{ change_seq: string }>`
        update records set deleted_at = ${seen.at}, changed_at = ${seen.at}, change_seq = ${nextPosition}
        where tenant_id = ${s.tenantId} and connection_id = ${s.connectionId} and model = ${s.model}
          and deleted_at is null and seen_run_id <> ${seen.runId}
          ${seenBefore === undefined ? sql`` : sql`and seen_run_id < ${seenBefore}::uuid`}
        returning change_seq`.execute(tx);
      if (rows.rows.length > 0) await drawPositions(tx, s.tenantId, rows.rows.length);
      return { deleted: rows.rows.length, seqs: rows.rows.map((r) => r.change_seq) };
    },

    /** Deletes (soft) the records the provider reported deleted; each takes a feed position. */
    async deleteIds(tx: TenantTx, s: Scope, ids: string[], seen: Seen) {
      if (ids.length === 0) return { deleted: 0, seqs: [] as string[] };
      await drawPositions(tx, s.tenantId, 0);
      const rows = await sql<{ change_seq: string }>`
        update records set deleted_at = ${seen.at}, changed_at = ${seen.at}, change_seq = ${nextPosition}, seen_run_id = ${seen.runId}
        where tenant_id = ${s.tenantId} and connection_id = ${s.connectionId} and model = ${s.model}
          and deleted_at is null and external_id = any(${ids}::text[])
        returning change_seq`.execute(tx);
      if (rows.rows.length > 0) await drawPositions(tx, s.tenantId, rows.rows.length);
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
        .where('kind', '=', 'sync').where('status', '=', 'running').where('lease_until', '<', now).execute(),

    /**
     * The lease of the run of this (connection, sync) that is running, locked: a run finishing
     * right now is waited for, and is then no longer running.
     */
    lockRunning: async (tx: TenantTx, tenantId: string, connectionId: string, sync: string) =>
      (await tx.selectFrom('sync_runs').select('lease_until').where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('sync', '=', sync).where('kind', '=', 'sync').where('status', '=', 'running').forUpdate().executeTakeFirst())?.lease_until,

    /** Inserts the run as `running` unless one is running already (then null): the run's lease. */
    startRun: async (tx: TenantTx, row: Omit<RunRow, 'status' | 'finished_at' | 'added' | 'updated' | 'deleted' | 'pages' | 'provider_calls' | 'checkpoint' | 'cursor_from' | 'cursor_to' | 'error_code' | 'kind' | 'idempotency_key' | 'result' | 'input_hash' | 'send_attempt' | 'rate_wait_ms'>) => {
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
        .where('sync', '=', sync).where('kind', '=', 'sync').where('status', '=', 'succeeded').orderBy('id', 'desc').limit(1).executeTakeFirst();
      let q = tx.selectFrom('sync_runs').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenantId)
        .where('connection_id', '=', connectionId).where('sync', '=', sync).where('kind', '=', 'sync').where('status', '=', 'failed');
      if (last) q = q.where('id', '>', last.id);
      return Number((await q.executeTakeFirstOrThrow()).n);
    },

    /** The checkpoint of the last succeeded run (where the next incremental run starts). */
    lastCheckpoint: async (tx: TenantTx, tenantId: string, connectionId: string, sync: string) =>
      (await tx.selectFrom('sync_runs').select('checkpoint').where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('sync', '=', sync).where('kind', '=', 'sync').where('status', '=', 'succeeded').orderBy('id', 'desc').limit(1).executeTakeFirst())?.checkpoint ?? null,

    /** Whether a person paused this schedule (a scheduled run queued before the pause is skipped). */
    schedulePaused: async (tx: TenantTx, tenantId: string, connectionId: string, sync: string) =>
      (await tx.selectFrom('sync_schedules').select('paused').where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('sync', '=', sync).executeTakeFirst())?.paused === true,

    /** The last succeeded full run of this (connection, sync): its id and (clock) start. */
    lastFullRun: (tx: TenantTx, tenantId: string, connectionId: string, sync: string) =>
      tx.selectFrom('sync_runs').select(['id', 'started_at']).where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('sync', '=', sync).where('kind', '=', 'sync').where('status', '=', 'succeeded').where('mode', '=', 'full')
        .orderBy('id', 'desc').limit(1).executeTakeFirst(),

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

