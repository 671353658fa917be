import type { ConnectionStatus, KeyholdEvent, SyncScheduleBody, SyncState } from '@keyhold/contract';
import type { Clock } from '../../platform/clock.js';
import type { SchedulePauseReason } from '../../platform/db/syncs-schema.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ProviderAdapter } from '../../providers/adapter.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ConnectionStore } from '../connections/store.js';
import type { TenantPrincipal } from '../identity/principal.js';
import type { RunRequest } from './run.js';
import type { Fairness, ScheduleState, SchedulesRepo, SyncDefault } from './schedules.repo.js';

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

/** What a connection event's new status means for its schedules (undefined: nothing). */
function pauseFor(to: ConnectionStatus | null | undefined): SchedulePauseReason | null | undefined {
  if (to === 'needs_reauth') return 'needs_reauth';
  if (to === 'disabled') return 'disabled';
  if (to === 'active' || to === 'degraded') return null;
  return undefined;
}

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

  /** Every sync of every connection of the tenant, with its schedule and last runs. */
  async function state(p: TenantPrincipal): Promise<SyncState[]> {
    const rows = await deps.tenancy.withTenant(p.tenantId, async (tx) => {
      await ensureTenant(tx, p.tenantId);
      return deps.repo.state(tx, p.tenantId);
    });
    // A sync whose definition left the adapter keeps its row (and history) but is not shown.
    return rows.filter((r) => deps.adapterFor({ id: r.provider }).syncs?.[r.sync]).map(toState);
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
      const [row] = (await deps.repo.state(tx, p.tenantId, { connectionId })).filter((r) => r.sync === sync);
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
   * Writes only rows in the drain's transaction.
   */
  async function onConnectionEvents(tx: TenantTx, tenantId: string, events: KeyholdEvent[]) {
    for (const e of events) {
      if (!e.type.startsWith('connection.') || !('connectionId' in e.subject)) continue;
      const reason = pauseFor((e.payload as { to?: ConnectionStatus | null }).to);
      if (reason === undefined) continue;
      if (!deps.adapterFor({ id: e.subject.provider }).syncs) continue;
      await deps.repo.ensureTenant(tx, tenantId, e.subject.provider, defaultsOf(e.subject.provider), deps.clock());
      await deps.repo.setPausedReason(tx, tenantId, e.subject.connectionId, reason, deps.clock());
    }
  }

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
      const req: RunRequest = { tenantId: d.tenant_id, connectionId: d.connection_id, sync: d.sync, trigger: 'schedule', dueAt: d.due_at.toISOString() };
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

  /** A scheduled run ended: its tenant may have another in flight. */
  const release = (req: Pick<RunRequest, 'tenantId' | 'connectionId' | 'sync'>) =>
    deps.tenancy.withTenant(req.tenantId, (tx) => deps.repo.release(tx, req.tenantId, req.connectionId, req.sync));

  return { state, setSchedule, onConnectionEvents, tick, release, ensureTenant };
}
export type Schedules = ReturnType<typeof createSchedules>;
