import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { SchedulePauseReason, SyncRunStatus, SyncSchedulesTable, SyncTrigger } from '../../platform/db/syncs-schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type ScheduleRow = Selectable<SyncSchedulesTable>;
/** A sync of a provider and its default frequency (from the provider adapter's definition). */
export type SyncDefault = { sync: string; minutes: number };
/** `ahead`: the tenant's scheduled runs queued or running before this one. */
export type DueRun = { tenant_id: string; connection_id: string; sync: string; due_at: Date; ahead: number };
/** How the scheduler shares the queue between tenants (see keyhold_claim_due_syncs, migration 0027). */
export type Fairness = { perTenant: number; maxInFlight: number; limit: number };

export type ScheduleState = ScheduleRow & {
  provider: string; label: string; last_id: string | null; last_status: SyncRunStatus | null; last_trigger: SyncTrigger | null;
  last_finished_at: Date | null; last_error: string | null; last_success_at: Date | null;
};

/** The only SQL for `sync_schedules`. */
export function createSchedulesRepo(db: Kysely<Database>) {
  return {
    /** Across tenants: adds the missing schedules of one provider's syncs (ids only; migration 0027). */
    async ensureAll(provider: string, defs: SyncDefault[], now: Date): Promise<number> {
      const { rows } = await sql<{ n: number }>`
        select keyhold_ensure_sync_schedules(${provider}, ${defs.map((d) => d.sync)}::text[], ${defs.map((d) => d.minutes)}::int[], ${now}) as n`.execute(db);
      return rows[0]?.n ?? 0;
    },

    /** Across tenants: claims due schedules, round robin over tenants within the fairness caps (ids only). */
    async claimDue(now: Date, inFlightUntil: Date, f: Fairness): Promise<DueRun[]> {
      const { rows } = await sql<DueRun>`
        select tenant_id, connection_id, sync, due_at, ahead from keyhold_claim_due_syncs(${now}, ${inFlightUntil}, ${f.perTenant}, ${f.maxInFlight}, ${f.limit})`.execute(db);
      return rows;
    },

    /** The tenant's own: adds the missing schedules of its connections of `provider` (a new one is due at once). */
    ensureTenant: (tx: TenantTx, tenantId: string, provider: string, defs: SyncDefault[], now: Date) =>
      sql`
        insert into sync_schedules (tenant_id, connection_id, sync, default_frequency_minutes, paused_reason, next_run_at)
        select c.tenant_id, c.id, d.sync, d.minutes,
               case when c.status = 'needs_reauth' then 'needs_reauth' when not c.is_active then 'disabled' end, ${now}
        from connections c cross join unnest(${defs.map((d) => d.sync)}::text[], ${defs.map((d) => d.minutes)}::int[]) as d(sync, minutes)
        where c.tenant_id = ${tenantId} and c.provider = ${provider}
        on conflict (tenant_id, connection_id, sync) do update set default_frequency_minutes = excluded.default_frequency_minutes
          where sync_schedules.default_frequency_minutes <> excluded.default_frequency_minutes`.execute(tx).then(() => undefined),

    /** A person's change: frequency override and/or pause. The next run moves to the new frequency from the last one due. */
    setSchedule: (tx: TenantTx, tenantId: string, connectionId: string, sync: string, set: { frequency_minutes?: number | null; paused?: boolean }, now: Date) => {
      let q = tx.updateTable('sync_schedules').where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('sync', '=', sync);
      if (set.paused !== undefined) q = q.set({ paused: set.paused });
      if (set.frequency_minutes !== undefined) {
        const minutes = set.frequency_minutes;
        // From the last time it was due (a schedule that never ran keeps its first run), never in
        // the past: a shorter frequency does not start a run at once (a manual run's job, with its step-up).
        q = q.set({
          frequency_minutes: minutes,
          next_run_at: sql<Date>`greatest(${now}::timestamptz, coalesce(last_due_at + make_interval(mins => coalesce(${minutes}::int, default_frequency_minutes)), next_run_at))`,
        });
      }
      return q.returningAll().executeTakeFirst();
    },

    /** Keyhold's pause of a connection's schedules (null: resume, the next run due at once). */
    setPausedReason: (tx: TenantTx, tenantId: string, connectionId: string, reason: SchedulePauseReason | null, now: Date) =>
      reason
        ? tx.updateTable('sync_schedules').set({ paused_reason: reason }).where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).execute()
        : tx.updateTable('sync_schedules').set({ paused_reason: null, next_run_at: sql<Date>`least(next_run_at, ${now}::timestamptz)` })
          .where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('paused_reason', 'is not', null).execute(),

    /** A scheduled run ended (however): it no longer counts toward its tenant's runs in flight. */
    release: (tx: TenantTx, tenantId: string, connectionId: string, sync: string) =>
      tx.updateTable('sync_schedules').set({ in_flight_until: null })
        .where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('sync', '=', sync).execute(),

    /** Every schedule of the tenant with its connection's names, its last run and its last success. */
    state: async (tx: TenantTx, tenantId: string, f: { connectionId?: string } = {}): Promise<ScheduleState[]> => {
      const { rows } = await sql<ScheduleState>`
        select s.*, c.provider, c.label,
               l.id as last_id, l.status as last_status, l.trigger as last_trigger, l.finished_at as last_finished_at, l.error_code as last_error,
               ok.finished_at as last_success_at
        from sync_schedules s
        join connections c on c.id = s.connection_id and c.tenant_id = s.tenant_id
        left join lateral (
          select r.id, r.status, r.trigger, r.finished_at, r.error_code from sync_runs r
          where r.tenant_id = s.tenant_id and r.connection_id = s.connection_id and r.sync = s.sync order by r.id desc limit 1
        ) l on true
        left join lateral (
          select r.finished_at from sync_runs r
          where r.tenant_id = s.tenant_id and r.connection_id = s.connection_id and r.sync = s.sync and r.status = 'succeeded' order by r.id desc limit 1
        ) ok on true
        where s.tenant_id = ${tenantId} ${f.connectionId ? sql`and s.connection_id = ${f.connectionId}` : sql``}
        order by c.provider, c.label, s.sync`.execute(tx);
      return rows;
    },
  };
}
export type SchedulesRepo = ReturnType<typeof createSchedulesRepo>;
