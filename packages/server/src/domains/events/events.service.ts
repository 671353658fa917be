import { type EventType, type KeyholdEvent, paginate } from '@keyhold/contract';
import type { Clock } from '../../platform/clock.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import type { Logger } from '../../platform/logger.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import type { EventRow, EventsRepo } from './events.repo.js';

/**
 * Something that acts on drained events (outbound webhooks, notifications, sync triggers). It
 * runs inside the tenant's transaction that takes the events off the queue, so what it writes (a
 * delivery row, a job) exists exactly when the events count as handed over. No network calls here:
 * a consumer writes work for its own worker, and wakes that worker with `afterCommit` (run once
 * the transaction committed, never if it rolled back), so the worker finds what was written.
 */
export type EventConsumer = (tx: TenantTx, events: KeyholdEvent[], afterCommit: (fn: () => void) => void) => Promise<void>;

export type EventsDeps = {
  repo: EventsRepo;
  tenancy: Tenancy;
  clock: Clock;
  consumers?: EventConsumer[];
  log?: Pick<Logger, 'warn'>;
};

/** Events handed over per tenant transaction: larger batches mean fewer transactions under a burst. */
const DRAIN_BATCH = 500;

const toEvent = (r: EventRow): KeyholdEvent => ({
  id: r.id,
  type: r.type as EventType,
  subject: r.subject as KeyholdEvent['subject'],
  payload: r.payload,
  createdAt: r.created_at.toISOString(),
});

export function createEventsService(deps: EventsDeps) {
  const { repo, tenancy } = deps;
  const consumers = deps.consumers ?? [];

  /** The tenant's events, newest first (admin and up; keys need `events:read`, checked at the edge). */
  async function list(p: TenantPrincipal, q: { page: number; limit: number; type?: EventType; since?: Date; connectionId?: string }) {
    assertRole(p, 'admin');
    const { rows, total } = await tenancy.withTenant(p.tenantId, (tx) =>
      repo.page(tx, { tenantId: p.tenantId, limit: q.limit, offset: (q.page - 1) * q.limit, ...(q.type ? { type: q.type } : {}), ...(q.since ? { since: q.since } : {}), ...(q.connectionId ? { connectionId: q.connectionId } : {}) }),
    );
    return { items: rows.map(toEvent), pagination: paginate(q.page, q.limit, total) };
  }

  /**
   * Hands queued events to the consumers and takes them off the queue, tenant by tenant (oldest waiting
   * first), `batch` at a time. Safe on every node at once: a tenant's pending rows are taken with
   * FOR UPDATE SKIP LOCKED, so two drainers never hand over the same event.
   */
  async function drain(opts: { batch?: number; tenants?: number; maxMs?: number } = {}) {
    const started = Date.now();
    const stats = { tenants: 0, dispatched: 0, failed: 0 };
    // A tenant whose consumer failed is left for the next run (its events stay pending), not retried in a loop.
    const failed = new Set<string>();
    for (;;) {
      let progressed = false;
      for (const tenantId of await repo.pendingTenants((opts.tenants ?? 50) + failed.size)) {
        if (failed.has(tenantId)) continue;
        const committed: Array<() => void> = [];
        const n = await tenancy.withTenant(tenantId, async (tx) => {
          committed.length = 0; // a transaction run again starts with none
          const rows = await repo.take(tx, tenantId, opts.batch ?? DRAIN_BATCH);
          if (rows.length === 0) return 0;
          const events = rows.map(toEvent);
          for (const consume of consumers) await consume(tx, events, (fn) => committed.push(fn));
          return rows.length;
        }).then((count) => {
          for (const fn of committed.splice(0)) {
            try {
              fn();
            } catch (err) {
              deps.log?.warn({ tenantId, err: { message: (err as Error).message } }, 'an after-commit step of an event consumer failed');
            }
          }
          return count;
        }, (err: unknown) => {
          failed.add(tenantId);
          stats.failed++;
          deps.log?.warn({ tenantId, err: { message: (err as Error).message } }, 'an event consumer failed; the events stay pending');
          return 0;
        });
        if (n > 0) {
          progressed = true;
          stats.tenants++;
          stats.dispatched += n;
        }
      }
      if (!progressed || (opts.maxMs !== undefined && Date.now() - started > opts.maxMs)) return stats;
    }
  }

  let kick: () => void = () => undefined;
  /** Asks for a drain soon (the outbox calls it on append; the jobs set how, throttled). */
  return { list, drain, requestDrain: () => kick(), useKick: (k: () => void) => { kick = k; } };
}
export type EventsService = ReturnType<typeof createEventsService>;
