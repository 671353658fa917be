import { type SyncRun, type SyncedRecord, paginate } from '@keyhold/contract';
import { type Tenancy, scopeTenantId } from '../../platform/db/tenancy.js';
import type { SyncMode, SyncTrigger } from '../../platform/db/syncs-schema.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ProviderAdapter } from '../../providers/adapter.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ConnectionStore } from '../connections/store.js';
import type { EventConsumer } from '../events/events.service.js';
import type { TenantPrincipal } from '../identity/principal.js';
import type { RunRequest, SyncRunner } from './run.js';
import type { Fairness } from './schedules.repo.js';
import { DEFAULT_FAIRNESS, type Schedules } from './schedules.js';
import type { RecordRow, RunRow, SyncsRepo } from './syncs.repo.js';

/**
 * Hands a run to whoever executes runs: pg-boss (syncs.jobs.ts) on a server, this process by
 * default. `priority`: higher is served first (runs of tenants with few in flight); without
 * one, a single run a person asked for (manual, reset) comes first.
 */
export type QueueRun = (req: RunRequest, opts?: { priority?: number }) => Promise<void>;

export type SyncsDeps = {
  repo: SyncsRepo;
  tenancy: Tenancy;
  store: Pick<ConnectionStore, 'byId'>;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  runner: SyncRunner;
  schedules: Schedules;
  audit: Pick<AuditService, 'record'>;
  log?: Pick<Logger, 'warn'>;
};

const notFound = () => new AppError('NOT_FOUND', 'Connection not found');

export function createSyncsService(deps: SyncsDeps) {
  // Until the jobs are wired (a server), runs go to this process in the background.
  let queue: QueueRun = async (req) => {
    void deps.runner.run(req).catch((err: unknown) => deps.log?.warn({ code: err instanceof AppError ? err.code : 'internal_error', sync: req.sync }, 'sync run not started'));
  };

  /**
   * Checks that the connection has this sync (404 otherwise, also for another tenant's connection)
   * and can be used (409 INTEGRATION_NEEDS_REAUTH / INTEGRATION_DISABLED: a run would be skipped), then queues a run.
   */
  async function request(p: TenantPrincipal, connectionId: string, sync: string, trigger: Extract<SyncTrigger, 'manual' | 'reset'>, mode?: SyncMode) {
    await deps.tenancy.withTenant(p.tenantId, async (tx) => {
      const conn = await deps.store.byId(tx, connectionId);
      if (!conn) throw notFound();
      if (!deps.adapterFor({ id: conn.provider }).syncs?.[sync]) throw new AppError('NOT_FOUND', `The ${conn.provider} connection has no sync '${sync}'`);
      if (conn.status === 'needs_reauth') throw new AppError('INTEGRATION_NEEDS_REAUTH', `The ${conn.provider} connection needs to be reconnected before it can sync`);
      if (!conn.is_active) throw new AppError('INTEGRATION_DISABLED', `The ${conn.provider} connection is disabled; enable it before it can sync`);
    });
    await queue({ tenantId: p.tenantId, connectionId, sync, trigger, ...(mode ? { mode } : {}) });
    return { queued: true as const, connectionId, sync, trigger };
  }

  /** The change feed of one model: records changed after `cursor`, oldest change first. */
  async function records(p: TenantPrincipal, model: string, f: { connectionId?: string; cursor: string; limit: number }) {
    const rows = await deps.tenancy.withTenant(p.tenantId, (tx) =>
      deps.repo.feed(tx, p.tenantId, { model, after: f.cursor, limit: f.limit + 1, ...(f.connectionId ? { connectionId: f.connectionId } : {}) }));
    const items = rows.slice(0, f.limit).map(toRecord);
    return { items, next: items.at(-1)?.cursor ?? f.cursor, hasMore: rows.length > f.limit };
  }

  async function runs(p: TenantPrincipal, f: { connectionId?: string; sync?: string; page: number; limit: number }) {
    const { rows, total } = await deps.tenancy.withTenant(p.tenantId, (tx) => deps.repo.listRuns(tx, p.tenantId, f));
    return { items: rows.map(toRun), pagination: paginate(f.page, f.limit, total) };
  }

  /**
   * Runs every sync of every connection of the tenant that can be used (trigger `manual`): marks
   * their schedules due now and lets the fair claim hand them out, so a tenant's run-all of
   * thousands of connections takes its share of the queue, not all of it.
   */
  async function runAll(p: TenantPrincipal) {
    const marked = await deps.tenancy.withTenant(p.tenantId, async (tx) => {
      await deps.schedules.ensureTenant(tx, p.tenantId);
      return deps.schedules.markAllDue(tx, p.tenantId);
    });
    await deps.audit.record(p, { action: 'syncs.run_all', entity: { type: 'tenant', id: p.tenantId }, metadata: { queued: marked } });
    // The first share now (another claimer holding the claim hands them out instead).
    await tick(undefined, { ensure: false });
    return { queued: marked };
  }

  /**
   * Outbox consumer, inside the drain's transaction: a connection that needs reauthorization
   * pauses its schedules and one usable again resumes them (rows written in the transaction); a
   * provider's change notice (`connection.changed`, from inbound webhooks) queues an incremental
   * run of each incremental sync, once the transaction committed (`afterCommit`): no queue I/O
   * inside it, and no run queued for events whose hand-over rolled back.
   */
  const onEvents: EventConsumer = async (tx, events, afterCommit) => {
    const tenantId = tenantOf(tx);
    await deps.schedules.onConnectionEvents(tx, tenantId, events);
    // A batch of notices for one connection (a store sending a webhook per order) asks for one
    // run of each sync: every notice in the batch happened before that run is queued.
    const runs = new Map<string, RunRequest>();
    for (const e of events) {
      if (e.type !== 'connection.changed' || !('connectionId' in e.subject)) continue;
      const defs = deps.adapterFor({ id: e.subject.provider }).syncs ?? {};
      for (const [sync, def] of Object.entries(defs)) {
        const key = `${e.subject.connectionId}:${sync}`;
        if (def.incremental && !runs.has(key)) runs.set(key, { tenantId, connectionId: e.subject.connectionId, sync, trigger: 'webhook', mode: 'incremental' });
      }
    }
    if (runs.size === 0) return;
    // Like scheduled runs: a tenant with many runs queued or running (a storm of change notices)
    // gets lower priorities, so it does not hold up other tenants' runs.
    const base = await deps.schedules.inFlight(tx, tenantId);
    afterCommit(() => {
      for (const [i, req] of [...runs.values()].entries()) {
        queue(req, { priority: Math.max(0, DEFAULT_FAIRNESS.maxInFlight - base - i) }).catch((err: unknown) => deps.log?.warn({ sync: req.sync, connectionId: req.connectionId, err: { message: (err as Error).message } }, 'a change notice could not queue its sync run'));
      }
    });
  };

  /** One scheduler tick: due schedules of every tenant, claimed fairly, queued with trigger `schedule`. */
  const tick = (fairness?: Fairness, opts?: { ensure?: boolean }) => deps.schedules.tick((req, o) => queue(req, o), fairness, opts);

  return {
    request, records, runs, runAll, onEvents, tick, run: deps.runner.run, useQueue: (q: QueueRun) => { queue = q; },
    state: deps.schedules.state, setSchedule: deps.schedules.setSchedule, release: deps.schedules.release, renew: deps.schedules.renew,
  };
}
export type SyncsService = ReturnType<typeof createSyncsService>;

const tenantOf = (tx: Parameters<EventConsumer>[0]) => scopeTenantId(tx)!;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toRecord(r: RecordRow): SyncedRecord {
  return {
    connectionId: r.connection_id, model: r.model, externalId: r.external_id, payload: r.payload,
    firstSeenAt: r.first_seen_at.toISOString(), lastSeenAt: r.last_seen_at.toISOString(), changedAt: r.changed_at.toISOString(),
    deletedAt: iso(r.deleted_at), cursor: r.change_seq,
  };
}

function toRun(r: RunRow): SyncRun {
  return {
    id: r.id, kind: r.kind, connectionId: r.connection_id, sync: r.sync, trigger: r.trigger, mode: r.mode, status: r.status,
    startedAt: r.started_at.toISOString(), finishedAt: iso(r.finished_at), added: r.added, updated: r.updated, deleted: r.deleted,
    pages: r.pages, providerCalls: r.provider_calls, rateWaitMs: r.rate_wait_ms, attempt: r.attempt, dueAt: iso(r.due_at), cursorFrom: r.cursor_from, cursorTo: r.cursor_to, errorCode: r.error_code,
  };
}
