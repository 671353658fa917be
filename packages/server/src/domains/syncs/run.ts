import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import type { SyncMode, SyncTrigger } from '../../platform/db/syncs-schema.js';
import type { Logger } from '../../platform/logger.js';
import { type ProviderAdapter, type SyncAnswer, type SyncCall, type SyncDefinition, SyncReadError } from '../../providers/adapter.js';
import { canonicalJson } from '../audit/canonical.js';
import type { ConnectionStore } from '../connections/store.js';
import type { Outbox } from '../events/outbox.js';
import type { PageItem, SyncsRepo } from './syncs.repo.js';

/**
 * How far the provider's clock may be behind Keyhold's: a record changed just after this run began
 * may carry a provider time earlier than the run's start by Keyhold's clock, so the checkpoint is
 * capped this much before that start (the next incremental run re-reads this much).
 */
const CHECKPOINT_SKEW_MS = 5 * 60_000;

/** How often a run Keyhold starts itself is full (to find deletes), unless the definition says otherwise. */
export const DEFAULT_FULL_RUN_EVERY_HOURS = 24;

/** A run's lease: renewed by every page; a run silent this long is taken as dead. */
export const LEASE_MS = 5 * 60_000;
/** How long one provider call may wait for the connection's rate limit (shared with live traffic). */
const MAX_RATE_WAIT_MS = 30_000;

/** Calls the provider as a tenant through the proxy's rate-limited path (tenant-clients.ts). */
export type TenantFetch = (tenantId: string, provider: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string; label?: string; maxWaitMs?: number; onRateWait?: (ms: number) => void }) => Promise<Response>;

export type RunDeps = {
  repo: SyncsRepo;
  tenancy: Tenancy;
  store: Pick<ConnectionStore, 'byId'>;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  tenantFetch: TenantFetch;
  outbox: Pick<Outbox, 'append'>;
  clock: Clock;
  log?: Pick<Logger, 'warn' | 'info'>;
};

/**
 * `dueAt`: when a scheduled run was due (queue wait = start - due); `attempt`: the job's retry
 * attempt (1 = first); `claim`: the scheduler's claim whose in-flight slot the run holds (schedules.ts).
 */
export type RunRequest = { tenantId: string; connectionId: string; sync: string; trigger: SyncTrigger; mode?: SyncMode; dueAt?: string; attempt?: number; claim?: string };
export type RunResult = {
  id: string; status: 'succeeded' | 'failed' | 'skipped'; mode: SyncMode; added: number; updated: number; deleted: number; pages: number; providerCalls: number;
  /** Time the run's provider calls waited for the connection's rate limits. */
  rateWaitMs: number; errorCode: string | null;
};

/** Why a run was not started: the connection cannot be used until a person acts. */
const SKIP_CODE = { needs_reauth: 'connection_needs_reauth', disabled: 'connection_disabled', schedule_paused: 'schedule_paused' } as const;

/** The stable code a failure is recorded with: never a provider's or an exception's message. */
/** A code the run history can hold (its column accepts only these characters): a reader's odd code becomes `internal_error`. */
const STORABLE_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
function errorCodeOf(err: unknown): string {
  const code = err instanceof SyncReadError || err instanceof AppError ? err.code : 'internal_error';
  return STORABLE_CODE.test(code) ? code : 'internal_error';
}

const hashOf = (data: Record<string, unknown>) => createHash('sha256').update(canonicalJson(data)).digest('hex');

/** Running change_seq range of a run (bigint strings), for the event and the history. */
function seqRange() {
  let min: bigint | null = null;
  let max: bigint | null = null;
  return {
    add(seqs: readonly string[]) {
      for (const s of seqs) {
        const v = BigInt(s);
        if (min === null || v < min) min = v;
        if (max === null || v > max) max = v;
      }
    },
    get from() { return min === null ? null : String(min - 1n); },
    get to() { return max === null ? null : String(max); },
  };
}

/**
 * The sync engine's one run: claims the (connection, sync) lease, pages through the reader with
 * no transaction open while the provider is called, writes each page in one short tenant
 * transaction, and closes the run (deletes of a full run, checkpoint, outbox event) only after
 * the last page. A failure anywhere closes it `failed` with a code, deleting nothing.
 */
export function createSyncRunner(deps: RunDeps) {
  async function claim(req: RunRequest) {
    return deps.tenancy.withTenant(req.tenantId, async (tx) => {
      // The connection before the run's row (a delete takes them in that order, so no lock cycle).
      const conn = await deps.store.byId(tx, req.connectionId, { lock: 'keyShare' });
      if (!conn) throw new AppError('NOT_FOUND', 'Connection not found');
      const def = deps.adapterFor({ id: conn.provider }).syncs?.[req.sync];
      if (!def) throw new AppError('NOT_FOUND', `The ${conn.provider} connection has no sync '${req.sync}'`);
      const skip = conn.status === 'needs_reauth' ? SKIP_CODE.needs_reauth : !conn.is_active ? SKIP_CODE.disabled
        // A scheduled run (or its retry) after a person paused the schedule.
        : req.trigger === 'schedule' && await deps.repo.schedulePaused(tx, req.tenantId, req.connectionId, req.sync) ? SKIP_CODE.schedule_paused : null;
      // A run of this sync that is finishing right now is waited for before anything is read:
      // planned from what was there before its commit, this run would read the whole store again
      // where an incremental read was due, and its start would precede the other's end.
      const leaseHeld = skip ? undefined : await deps.repo.lockRunning(tx, req.tenantId, req.connectionId, req.sync);
      const now = deps.clock();
      if (leaseHeld && leaseHeld >= now) throw new AppError('SYNC_ALREADY_RUNNING', `The sync '${req.sync}' of this connection is running already`);
      const lastFull = def.incremental || def.offsetPaging ? await deps.repo.lastFullRun(tx, req.tenantId, req.connectionId, req.sync) : undefined;
      // Most incremental APIs do not report deletes: a run Keyhold starts itself (schedule, change
      // notice) is full once the last succeeded full run is older than the reconciliation interval.
      const reconcile = (req.trigger === 'schedule' || req.trigger === 'webhook')
        && (!lastFull || now.getTime() - lastFull.started_at.getTime() > (def.fullRunEveryHours ?? DEFAULT_FULL_RUN_EVERY_HOURS) * 3_600_000);
      const wantsFull = req.trigger === 'reset' || req.mode === 'full' || !def.incremental || reconcile;
      // An empty checkpoint (stored by older versions when no record had a time) is none: an
      // "incremental" run from it would read everything and never delete.
      const checkpoint = wantsFull ? null : (await deps.repo.lastCheckpoint(tx, req.tenantId, req.connectionId, req.sync)) || null;
      const mode: SyncMode = checkpoint === null ? 'full' : 'incremental';
      const row = {
        // UUIDv7 from this process's real time: run ids order runs even when the injected clock stands still.
        id: uuidv7(), tenant_id: req.tenantId, connection_id: req.connectionId, sync: req.sync, trigger: req.trigger, mode,
        started_at: now, attempt: req.attempt ?? 1, due_at: req.dueAt ? new Date(req.dueAt) : null,
      };
      if (skip) {
        await deps.repo.recordSkipped(tx, { ...row, error_code: skip });
        return { skipped: { id: row.id, mode, code: skip } } as const;
      }
      await deps.repo.closeExpired(tx, req.tenantId, req.connectionId, req.sync, now);
      const id = await deps.repo.startRun(tx, { ...row, lease_until: new Date(now.getTime() + LEASE_MS) });
      if (!id) throw new AppError('SYNC_ALREADY_RUNNING', `The sync '${req.sync}' of this connection is running already`);
      // An offset-paged reader may miss a live record once (a delete on a page already read shifts
      // it): a full run deletes only what the previous succeeded full run missed too.
      const deleteBefore = def.offsetPaging ? (lastFull?.id ?? null) : undefined;
      return { id, def, mode, checkpoint, deleteBefore, conn: { id: conn.id, provider: conn.provider, label: conn.label, config: conn.config } };
    });
  }

  async function run(req: RunRequest): Promise<RunResult> {
    const claimed = await claim(req);
    if ('skipped' in claimed && claimed.skipped) {
      const { id, mode, code } = claimed.skipped;
      deps.log?.info({ syncRunId: id, sync: req.sync, connectionId: req.connectionId, code }, 'sync run skipped');
      return { id, status: 'skipped', mode, added: 0, updated: 0, deleted: 0, pages: 0, providerCalls: 0, rateWaitMs: 0, errorCode: code };
    }
    const { id, def, mode, checkpoint, deleteBefore, conn } = claimed as Exclude<typeof claimed, { skipped: unknown }>;
    const scope = { tenantId: req.tenantId, connectionId: conn.id, model: def.model };
    const seen = { runId: id, at: deps.clock() };
    const counts = { added: 0, updated: 0, deleted: 0, pages: 0, providerCalls: 0, rateWaitMs: 0 };
    // The proxy reports each wait for the connection's rate limits (live traffic passes no callback).
    const onRateWait = (ms: number) => { counts.rateWaitMs += Math.round(ms); };
    const range = seqRange();
    let nextCheckpoint = checkpoint;
    // Pages come in the provider's order, not by update time: a record on a page already read may
    // change while later pages (with later update times) are read. The next run therefore starts
    // no later than this run's start (less a clock-skew margin); unchanged records it reads again
    // are not rewritten.
    const checkpointCap = new Date(deps.clock().getTime() - CHECKPOINT_SKEW_MS).toISOString();
    const call: SyncCall = async (path, init) => {
      counts.providerCalls++;
      const res = await deps.tenantFetch(req.tenantId, conn.provider, path, { label: conn.label, maxWaitMs: MAX_RATE_WAIT_MS, onRateWait, ...(init?.headers ? { headers: init.headers } : {}) });
      const text = await res.text();
      let body: unknown = null;
      try { body = text ? JSON.parse(text) : null; } catch { body = null; }
      return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, body };
    };
    try {
      // A page is validated and serialized as soon as it arrives: the next page is fetched and
      // prepared while this one is written (the provider, this process and Postgres overlap).
      const config = conn.config;
      const fetchPrepared = (page: string | null) => def.fetchPage({ page, checkpoint, call, config }).then((got) => ({ got, items: toItems(def, got.records) }));
      let pending = fetchPrepared(null);
      for (;;) {
        const { got, items } = await pending;
        if (got.next !== null) {
          pending = fetchPrepared(got.next);
          pending.catch(() => undefined); // its failure surfaces at the next `await pending`
        }
        for (const r of got.records) {
          // A record without a time ('') does not move the checkpoint.
          const c = def.checkpointOf(r.data);
          if (c && (nextCheckpoint === null || c > nextCheckpoint)) nextCheckpoint = c;
        }
        const force = req.trigger === 'reset';
        const pages = counts.pages + 1;
        const written = await deps.tenancy.withTenant(req.tenantId, async (tx) => {
          // writePage takes the tenant's feed lock (an empty page takes it here, for the deletes).
          if (items.length === 0) await deps.repo.lockTenantFeed(tx, req.tenantId);
          const w = await deps.repo.writePage(tx, scope, items, seen, force);
          const d = await deps.repo.deleteIds(tx, scope, got.deleted ?? [], seen);
          // Renewing the lease in the page's transaction: a run that lost it writes nothing.
          const renewed = await deps.repo.progress(tx, req.tenantId, id, {
            pages, provider_calls: counts.providerCalls, added: counts.added + w.added, updated: counts.updated + w.updated,
            deleted: counts.deleted + d.deleted, rate_wait_ms: counts.rateWaitMs, lease_until: new Date(deps.clock().getTime() + LEASE_MS),
          });
          if (!renewed) throw new SyncReadError('lease_lost', 'The run was closed by another node (its lease ran out)');
          return { w, d };
        });
        counts.pages = pages;
        counts.added += written.w.added;
        counts.updated += written.w.updated;
        counts.deleted += written.d.deleted;
        range.add([...written.w.seqs, ...written.d.seqs]);
        if (got.next === null) break;
      }
    } catch (err) {
      const code = errorCodeOf(err);
      deps.log?.warn({ syncRunId: id, sync: req.sync, connectionId: conn.id, code }, 'sync run failed');
      await finish(req, conn, id, mode, counts, range, { status: 'failed', errorCode: code, checkpoint: null }).catch((e: unknown) => {
        // Already closed by the run that found its lease expired: nothing more to record.
        if (!(e instanceof SyncReadError && e.code === 'lease_lost')) throw e;
      });
      return { id, status: 'failed', mode, ...counts, errorCode: code };
    }
    try {
      const capped = nextCheckpoint !== null && nextCheckpoint > checkpointCap ? checkpointCap : nextCheckpoint;
      await finish(req, conn, id, mode, counts, range, { status: 'succeeded', errorCode: null, checkpoint: capped }, mode === 'full' ? { ...seen, before: deleteBefore } : null);
    } catch (err) {
      // Closed by another run while this one finished: its deletes were rolled back with the close.
      if (err instanceof SyncReadError && err.code === 'lease_lost') return { id, status: 'failed', mode, ...counts, errorCode: err.code };
      throw err;
    }
    return { id, status: 'succeeded', mode, ...counts, errorCode: null };
  }

  /** Closes the run and appends its event in one transaction (a full run's deletes with them). */
  async function finish(
    req: RunRequest, conn: { id: string; provider: string; label: string }, id: string, mode: SyncMode,
    counts: { added: number; updated: number; deleted: number; pages: number; providerCalls: number; rateWaitMs: number }, range: ReturnType<typeof seqRange>,
    outcome: { status: 'succeeded' | 'failed'; errorCode: string | null; checkpoint: string | null }, deleteUnseen: { runId: string; at: Date; before: string | null | undefined } | null = null,
  ) {
    counts.deleted = await deps.tenancy.withTenant(req.tenantId, async (tx) => {
      let deleted = counts.deleted;
      if (deleteUnseen) {
        await deps.repo.lockTenantFeed(tx, req.tenantId);
        const model = deps.adapterFor({ id: conn.provider }).syncs![req.sync]!.model;
        // `before` null: an offset-paged reader's first succeeded full run, which has nothing to confirm.
        if (deleteUnseen.before !== null) {
          const d = await deps.repo.deleteUnseen(tx, { tenantId: req.tenantId, connectionId: conn.id, model }, deleteUnseen, deleteUnseen.before);
          deleted += d.deleted;
          range.add(d.seqs);
        }
      }
      const closed = await deps.repo.finishRun(tx, req.tenantId, id, {
        status: outcome.status, finished_at: deps.clock(), added: counts.added, updated: counts.updated, deleted,
        pages: counts.pages, provider_calls: counts.providerCalls, rate_wait_ms: counts.rateWaitMs, checkpoint: outcome.checkpoint, cursor_from: range.from, cursor_to: range.to,
        error_code: outcome.errorCode,
      });
      if (!closed) throw new SyncReadError('lease_lost', 'The run was closed by another node (its lease ran out)');
      const payload = {
        syncRunId: id, sync: req.sync, trigger: req.trigger, mode, added: counts.added, updated: counts.updated, deleted,
        pages: counts.pages, cursorFrom: range.from, cursorTo: range.to,
      };
      const subject = { connectionId: conn.id, provider: conn.provider, label: conn.label };
      if (outcome.status === 'succeeded') await deps.outbox.append(tx, 'sync.succeeded', subject, payload);
      else {
        const failures = await deps.repo.failedStreak(tx, req.tenantId, conn.id, req.sync);
        await deps.outbox.append(tx, 'sync.failed', subject, { ...payload, error: outcome.errorCode ?? 'internal_error', failures });
      }
      return deleted;
    });
  }

  return { run };
}
export type SyncRunner = ReturnType<typeof createSyncRunner>;

/** Validates a page against the reader's schema and serializes it; one bad record fails the run. */
function toItems(def: SyncDefinition, records: Array<{ id: string; data: Record<string, unknown> }>): PageItem[] {
  return records.map((r) => {
    const parsed = def.schema.safeParse(r.data);
    if (!parsed.success) throw new SyncReadError('record_schema', `A ${def.model} record does not have the expected shape`);
    if (!r.id || r.id.length > 300) throw new SyncReadError('record_id', `A ${def.model} record has no usable id`);
    return { id: r.id, json: JSON.stringify(parsed.data), hash: hashOf(parsed.data) };
  });
}
