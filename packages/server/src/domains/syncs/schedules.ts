import { type KeyholdEvent, type Pagination, type SyncScheduleBody, type SyncState, paginate } from '@keyhold/contract';
import type { Clock } from '../../platform/clock.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ProviderAdapter } from '../../providers/adapter.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ConnectionStore } from '../connections/store.js';
import type { TenantPrincipal } from '../identity/principal.js';
import type { RunRequest } from './run.js';
import type { Fairness, ScheduleState, SchedulesRepo, SyncDefault, SyncOf } from './schedules.repo.js';

/**
 * The default share of the queue per tenant: a tick claims at most `perTenant` of one tenant's
 * due schedules, and a tenant never has more than `maxInFlight` scheduled runs queued or running.
 * A small tenant's due run therefore waits behind at most (tenants × maxInFlight) runs, not behind
 * a big tenant's whole backlog; and since it is queued with a higher priority than the runs of a
 * tenant with many in flight, a free worker takes it first.
 */
export const DEFAULT_FAIRNESS: Fairness = { perTenant: 10, maxInFlight: 10, limit: 500 };
/** A claimed run counts as in flight at most this long (a node that died with it frees the slot). */
export const IN_FLIGHT_MS = 60 * 60_000;

export type SchedulesDeps = {
  repo: SchedulesRepo;
  tenancy: Tenancy;
  store: Pick<ConnectionStore, 'byId'>;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  /** Catalog ids of the providers whose adapters define syncs. */
  syncProviders: () => string[];
  clock: Clock;
  audit: Pick<AuditService, 'record'>;
  log?: Pick<Logger, 'warn' | 'info'>;
};

/** Connection events that may change whether the connection can be used (its status or is_active). */
const MAY_PAUSE = (e: KeyholdEvent) => e.type.startsWith('connection.') && 'to' in e.payload;

/**
 * Per-connection schedules: one row per (connection, sync), created lazily (definitions are code:
 * a release adding a sync needs no backfill), a person's frequency override and pause, Keyhold's
 * own pause while a connection needs reauthorization, and the fair claim of due runs.
 */
export function createSchedules(deps: SchedulesDeps) {
  const defaultsOf = (provider: string): SyncDefault[] =>
    Object.entries(deps.adapterFor({ id: provider }).syncs ?? {}).map(([sync, d]) => ({ sync, minutes: d.defaultFrequencyMinutes }));

  async function ensureTenant(tx: TenantTx, tenantId: string) {
    for (const provider of deps.syncProviders()) await deps.repo.ensureTenant(tx, tenantId, provider, defaultsOf(provider), deps.clock());
  }

  const toState = (s: ScheduleState): SyncState => {
    const def = deps.adapterFor({ id: s.provider }).syncs?.[s.sync];
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    return {
      connectionId: s.connection_id, provider: s.provider, label: s.label, sync: s.sync, model: def?.model ?? s.sync,
      frequency: { effectiveMinutes: s.frequency_minutes ?? s.default_frequency_minutes, overrideMinutes: s.frequency_minutes, defaultMinutes: s.default_frequency_minutes },
      paused: s.paused, pausedReason: s.paused_reason,
      nextRunAt: s.paused || s.paused_reason ? null : s.next_run_at.toISOString(),
      lastRun: s.last_id ? { id: s.last_id, status: s.last_status!, trigger: s.last_trigger!, finishedAt: iso(s.last_finished_at), errorCode: s.last_error } : null,
      lastSuccessAt: iso(s.last_success_at),
    };
  };

  // A sync whose definition left the adapter keeps its row (and history) but is not listed.
  const known = (): SyncOf[] => deps.syncProviders().flatMap((provider) => defaultsOf(provider).map((d) => ({ provider, sync: d.sync })));

  /** A page of every sync of every connection of the tenant, with its schedule and last runs. */
  async function state(p: TenantPrincipal, f: { page: number; limit: number; connectionId?: string } = { page: 1, limit: 100 }): Promise<{ items: SyncState[]; pagination: Pagination }> {
    const k = known();
    const { rows, total } = await deps.tenancy.withTenant(p.tenantId, async (tx) => {
      await ensureTenant(tx, p.tenantId);
      return { rows: await deps.repo.state(tx, p.tenantId, { known: k, ...f }), total: await deps.repo.count(tx, p.tenantId, { known: k, ...(f.connectionId ? { connectionId: f.connectionId } : {}) }) };
    });
    return { items: rows.map(toState), pagination: paginate(f.page, f.limit, total) };
  }

  /** A person's frequency override and/or pause of one sync of a connection. */
  async function setSchedule(p: TenantPrincipal, connectionId: string, sync: string, body: SyncScheduleBody): Promise<SyncState> {
    return deps.tenancy.withTenant(p.tenantId, async (tx) => {
      const conn = await deps.store.byId(tx, connectionId);
      if (!conn) throw new AppError('NOT_FOUND', 'Connection not found');
      const defs = defaultsOf(conn.provider);
      if (!defs.some((d) => d.sync === sync)) throw new AppError('NOT_FOUND', `The ${conn.provider} connection has no sync '${sync}'`);
      await deps.repo.ensureTenant(tx, p.tenantId, conn.provider, defs, deps.clock());
      await deps.repo.setSchedule(tx, p.tenantId, connectionId, sync, {
        ...(body.frequencyMinutes !== undefined ? { frequency_minutes: body.frequencyMinutes } : {}),
        ...(body.paused !== undefined ? { paused: body.paused } : {}),
      }, deps.clock());
      const [row] = (await deps.repo.state(tx, p.tenantId, { connectionId, known: [{ provider: conn.provider, sync }] }));
      await deps.audit.record(p, {
        action: 'sync_schedules.update', entity: { type: 'connection', id: connectionId },
        metadata: { sync, frequencyMinutes: row!.frequency_minutes, paused: row!.paused },
      }, tx);
      return toState(row!);
    });
  }

  /**
   * Outbox: a connection that needs reauthorization (or was disabled) pauses its schedules; one
   * that can be used again (reconnected, recovered, enabled) resumes them, its next run due now.
   * The pause follows the connection's row as it is now, not the event (an older event applied
   * after a newer one changes nothing). Writes only the event's connection's rows, in the drain's
   * transaction.
   */
  async function onConnectionEvents(tx: TenantTx, tenantId: string, events: KeyholdEvent[]) {
    const done = new Set<string>();
    for (const e of events) {
      if (!MAY_PAUSE(e) || !('connectionId' in e.subject) || done.has(e.subject.connectionId)) continue;
      if (!deps.adapterFor({ id: e.subject.provider }).syncs) continue;
      done.add(e.subject.connectionId);
      await deps.repo.ensureTenant(tx, tenantId, e.subject.provider, defaultsOf(e.subject.provider), deps.clock(), e.subject.connectionId);
      await deps.repo.syncPausedReason(tx, tenantId, e.subject.connectionId, deps.clock());
    }
  }

  /** Run-all: every usable schedule of the tenant is due now, its run recorded `manual`; the fair claim hands them out. */
  async function markAllDue(tx: TenantTx, tenantId: string) {
    let marked = 0;
    for (const provider of deps.syncProviders()) marked += await deps.repo.markAllDue(tx, tenantId, provider, defaultsOf(provider).map((d) => d.sync), deps.clock());
    return marked;
  }

  /** The tenant's claimed runs queued or running now. */
  const inFlight = (tx: TenantTx, tenantId: string) => deps.repo.inFlight(tx, tenantId, deps.clock());

  /**
   * One scheduler tick (any node; claims serialize in Postgres): adds missing schedules across
   * tenants, claims due ones fairly and queues them with trigger `schedule`.
   */
  async function tick(queue: (req: RunRequest, opts: { priority: number }) => Promise<void>, fairness: Fairness = DEFAULT_FAIRNESS, opts: { ensure?: boolean } = {}) {
    const now = deps.clock();
    let ensured = 0;
    // Adding missing schedules scans every connection of each provider: the minute's tick does
    // it, not the quick ticks after each run.
    if (opts.ensure !== false) for (const provider of deps.syncProviders()) ensured += await deps.repo.ensureAll(provider, defaultsOf(provider), now);
    const due = await deps.repo.claimDue(now, new Date(now.getTime() + IN_FLIGHT_MS), fairness);
    let queued = 0;
    for (const d of due) {
      const req: RunRequest = {
        tenantId: d.tenant_id, connectionId: d.connection_id, sync: d.sync, trigger: d.run_trigger, dueAt: d.due_at.toISOString(), claim: d.claim_id,
      };
      try {
        // The queue serves higher priorities first: a tenant with few runs ahead of this one
        // (a small tenant) overtakes the queued runs of a tenant with many.
        await queue(req, { priority: Math.max(0, fairness.maxInFlight - d.ahead) });
        queued++;
      } catch (err) {
        deps.log?.warn({ sync: d.sync, connectionId: d.connection_id, err: { message: (err as Error).message } }, 'a scheduled sync run could not be queued');
        await release(req);
      }
    }
    return { ensured, queued, claimed: due };
  }

  /** A claimed run ended: its tenant may have another in flight (a run without a claim holds no slot). */
  const release = async (req: Pick<RunRequest, 'tenantId' | 'connectionId' | 'sync' | 'claim'>) => {
    if (req.claim) await deps.tenancy.withTenant(req.tenantId, (tx) => deps.repo.release(tx, req.tenantId, req.connectionId, req.sync, req.claim!));
  };

  /** An attempt of a claimed run starts: its slot is held again from now (a retry may come long after the claim). */
  const renew = async (req: Pick<RunRequest, 'tenantId' | 'connectionId' | 'sync' | 'claim'>) => {
    if (!req.claim) return false;
    return deps.tenancy.withTenant(req.tenantId, (tx) =>
      deps.repo.renew(tx, req.tenantId, req.connectionId, req.sync, req.claim!, new Date(deps.clock().getTime() + IN_FLIGHT_MS)));
  };

  return { state, setSchedule, onConnectionEvents, markAllDue, inFlight, tick, release, renew, ensureTenant };
}
export type Schedules = ReturnType<typeof createSchedules>;
