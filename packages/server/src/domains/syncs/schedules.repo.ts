import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { SyncRunStatus, SyncSchedulesTable, SyncTrigger } from '../../platform/db/syncs-schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type ScheduleRow = Selectable<SyncSchedulesTable>;
/** A sync of a provider and its default frequency (from the provider adapter's definition). */
export type SyncDefault = { sync: string; minutes: number };
/**
 * `ahead`: the tenant's scheduled runs queued or running before this one; `run_trigger`: `manual`
 * after a run-all; `claim_id`: identifies this claim's in-flight slot (held until `in_flight_until`).
 */
export type DueRun = {
  tenant_id: string; connection_id: string; sync: string; due_at: Date; ahead: number;
  run_trigger: 'schedule' | 'manual'; claim_id: string; in_flight_until: Date;
};
/** How the scheduler shares the queue between tenants (see keyhold_claim_due_syncs, migration 0027). */
export type Fairness = { perTenant: number; maxInFlight: number; limit: number };

export type ScheduleState = ScheduleRow & {
  provider: string; label: string; last_id: string | null; last_status: SyncRunStatus | null; last_trigger: SyncTrigger | null;
  last_finished_at: Date | null; last_error: string | null; last_success_at: Date | null;
};

/** A sync an adapter defines now (a schedule of a sync that left its adapter keeps its row but is not listed). */
export type SyncOf = { provider: string; sync: string };
const knownOnly = (known?: SyncOf[]) =>
  known ? sql`and (c.provider, s.sync) in (select * from unnest(${known.map((k) => k.provider)}::text[], ${known.map((k) => k.sync)}::text[]))` : sql``;

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
        select tenant_id, connection_id, sync, due_at, ahead, run_trigger, claim_id, in_flight_until from keyhold_claim_due_syncs(${now}, ${inFlightUntil}, ${f.perTenant}, ${f.maxInFlight}, ${f.limit})`.execute(db);
      return rows;
    },

    /**
     * The tenant's own: adds the missing schedules of its connections of `provider` (a new one is
     * due at once), or of one connection only (a connection event: not the tenant's thousands).
     */
    ensureTenant: (tx: TenantTx, tenantId: string, provider: string, defs: SyncDefault[], now: Date, connectionId?: string) =>
      sql`
        insert into sync_schedules (tenant_id, connection_id, sync, default_frequency_minutes, paused_reason, next_run_at)
        select c.tenant_id, c.id, d.sync, d.minutes,
               case when c.status = 'needs_reauth' then 'needs_reauth' when not c.is_active then 'disabled' end, ${now}
        from connections c cross join unnest(${defs.map((d) => d.sync)}::text[], ${defs.map((d) => d.minutes)}::int[]) as d(sync, minutes)
        where c.tenant_id = ${tenantId} and c.provider = ${provider} ${connectionId ? sql`and c.id = ${connectionId}` : sql``}
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

    /**
     * Keyhold's pause of a connection's schedules, from the connection's row as it is now (never
     * from an event's payload: drains applying a tenant's batches concurrently may apply an older
     * event last). Resuming makes the next run due at once.
     */
    syncPausedReason: (tx: TenantTx, tenantId: string, connectionId: string, now: Date) =>
      sql`
        update sync_schedules s
        set paused_reason = x.reason,
            next_run_at = case when x.reason is null then least(s.next_run_at, ${now}::timestamptz) else s.next_run_at end
        from (
          select case when c.status = 'needs_reauth' then 'needs_reauth' when not c.is_active or c.status = 'disabled' then 'disabled' end as reason
          from connections c where c.tenant_id = ${tenantId} and c.id = ${connectionId}
        ) x
        where s.tenant_id = ${tenantId} and s.connection_id = ${connectionId} and s.paused_reason is distinct from x.reason`.execute(tx).then(() => undefined),

    /** Run-all: the tenant's usable schedules of these syncs are due now, their next claimed run recorded `manual`. */
    markAllDue: async (tx: TenantTx, tenantId: string, provider: string, syncs: string[], now: Date): Promise<number> => {
      const r = await sql`
        update sync_schedules s set next_run_at = least(s.next_run_at, ${now}::timestamptz), pending_trigger = 'manual'
        from connections c
        where c.id = s.connection_id and c.tenant_id = s.tenant_id and s.tenant_id = ${tenantId} and c.provider = ${provider}
          and s.sync = any(${syncs}::text[]) and c.is_active and c.status in ('active', 'degraded')`.execute(tx);
      return Number(r.numAffectedRows ?? 0n);
    },

    /** The tenant's claimed runs queued or running (the measure of its share of the queue). */
    inFlight: async (tx: TenantTx, tenantId: string, now: Date): Promise<number> =>
      Number((await tx.selectFrom('sync_schedules').select((eb) => eb.fn.countAll<string>().as('n'))
        .where('tenant_id', '=', tenantId).where('in_flight_until', '>', now).executeTakeFirstOrThrow()).n),

    /**
     * A claimed run ended (however): it no longer counts toward its tenant's runs in flight. Only
     * its own claim: a stale job whose slot ran out and was claimed again frees nothing.
     */
    release: (tx: TenantTx, tenantId: string, connectionId: string, sync: string, claim: string) =>
      tx.updateTable('sync_schedules').set({ in_flight_until: null, in_flight_claim: null })
        .where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('sync', '=', sync).where('in_flight_claim', '=', claim).execute(),

    /** An attempt of a claimed run starts (a retry may come long after the claim): its slot is held again from now. */
    renew: async (tx: TenantTx, tenantId: string, connectionId: string, sync: string, claim: string, until: Date) =>
      (await tx.updateTable('sync_schedules').set({ in_flight_until: until })
        .where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('sync', '=', sync).where('in_flight_claim', '=', claim)
        .executeTakeFirst()).numUpdatedRows > 0n,

    /** Every schedule of the tenant with its connection's names, its last run and its last success. */
    state: async (tx: TenantTx, tenantId: string, f: { connectionId?: string; known?: SyncOf[]; page?: number; limit?: number } = {}): Promise<ScheduleState[]> => {
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
        where s.tenant_id = ${tenantId} ${f.connectionId ? sql`and s.connection_id = ${f.connectionId}` : sql``} ${knownOnly(f.known)}
        order by c.provider, c.label, s.connection_id, s.sync
        ${f.limit ? sql`limit ${f.limit} offset ${((f.page ?? 1) - 1) * f.limit}` : sql``}`.execute(tx);
      return rows;
    },

    /** How many schedules `state` lists (its pages' total). */
    count: async (tx: TenantTx, tenantId: string, f: { connectionId?: string; known?: SyncOf[] } = {}): Promise<number> => {
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from sync_schedules s join connections c on c.id = s.connection_id and c.tenant_id = s.tenant_id
        where s.tenant_id = ${tenantId} ${f.connectionId ? sql`and s.connection_id = ${f.connectionId}` : sql``} ${knownOnly(f.known)}`.execute(tx);
      return Number(rows[0]?.n ?? 0);
    },
  };
}
export type SchedulesRepo = ReturnType<typeof createSchedulesRepo>;
