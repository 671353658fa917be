import { type JobPolicy, type JobRunner, throttled } from '../../platform/jobs.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { RunRequest, RunResult } from './run.js';
import type { Fairness } from './schedules.repo.js';
import { DEFAULT_FAIRNESS } from './schedules.js';
import type { SyncsService } from './syncs.service.js';

export const RUN_JOB = 'syncs.run';
export const SCHEDULE_JOB = 'syncs.schedule';
/** Change notices of one (connection, sync) within this many seconds share a run. */
export const WEBHOOK_RUN_DEBOUNCE_SECONDS = 30;
/**
 * A failed scheduled or webhook run is tried again this many times, waiting about 30 s, 1, 2, 4
 * and 8 min (pg-boss's backoff, jittered); a change notice finding a run in progress waits the same way.
 */
export const RUN_RETRY: Pick<JobPolicy, 'retryLimit' | 'retryDelaySeconds'> = { retryLimit: 5, retryDelaySeconds: 30 };
/** Failures another attempt cannot fix: the reader refused the provider's data, or the run was taken over. */
const FINAL_CODES = new Set(['record_schema', 'record_id', 'lease_lost']);

/** Thrown to pg-boss so it tries the run again later (the run itself is recorded `failed` already). */
class RetryRun extends Error {}

const retryable = (req: RunRequest, r: RunResult) =>
  r.status === 'failed' && (req.trigger === 'schedule' || req.trigger === 'webhook') && !FINAL_CODES.has(r.errorCode ?? '');

/**
 * Runs on pg-boss: any node may take a queued run; the run's lease (a `running` row in
 * `sync_runs`) keeps one run per (connection, sync) across nodes. A change notice arriving while
 * a run is in progress is retried until that run ends, so the change is not missed. Every minute
 * (once across the cluster) and soon after each scheduled run ends, a tick claims due schedules
 * fairly across tenants (schedules.ts).
 */
export async function registerSyncJobs(
  jobs: JobRunner,
  syncs: Pick<SyncsService, 'run' | 'useQueue'> & Partial<Pick<SyncsService, 'tick' | 'release' | 'renew'>>,
  opts: { retryDelaySeconds?: number; fairness?: Fairness; /** false: every run at the same priority (to measure fairness without it). */ prioritize?: boolean; log?: Pick<Logger, 'warn'> } = {},
) {
  const tick = syncs.tick ? (ensure = true) => syncs.tick!(opts.fairness, { ensure }) : undefined;
  // Another tick soon after a scheduled run ended: its tenant may take its next due run.
  const tickSoon = tick
    ? throttled(() => void tick(false).catch((err: Error) => opts.log?.warn({ err: { message: err.message } }, 'sync scheduler tick failed')))
    : () => undefined;
  await jobs.handle<RunRequest>(RUN_JOB, async (data, job) => {
    const req: RunRequest = { ...data, attempt: job.attempt };
    // A claimed run's slot is held from the start of each attempt (a retry may come long after the claim).
    if (req.claim && syncs.renew) await syncs.renew(req);
    // A claimed run waiting for its retry still counts toward its tenant's runs in flight.
    let retrying = false;
    try {
      const result = await syncs.run(req);
      retrying = retryable(req, result) && !job.lastAttempt;
      if (retrying) throw new RetryRun(`sync run failed (${result.errorCode}); pg-boss tries again`);
    } catch (err) {
      if (err instanceof RetryRun) throw err;
      const rethrow = !(err instanceof AppError) || (err.code === 'SYNC_ALREADY_RUNNING' && req.trigger === 'webhook');
      // Whatever is thrown, pg-boss tries again unless this was the last attempt.
      if (rethrow) {
        retrying = !job.lastAttempt;
        throw err;
      }
    } finally {
      if (req.claim && syncs.release && !retrying) {
        await syncs.release(req);
        tickSoon();
      }
    }
  });
  // A single run a person asked for (manual, reset) comes ahead of any claimed run; claimed runs
  // and change notices carry a priority from their tenant's runs in flight.
  const askedPriority = (opts.fairness ?? DEFAULT_FAIRNESS).maxInFlight + 1;
  syncs.useQueue(async (req, o) => {
    await jobs.send(RUN_JOB, req, {
      priority: opts.prioritize === false ? 0 : (o?.priority ?? (req.trigger === 'manual' || req.trigger === 'reset' ? askedPriority : 0)),
      singletonKey: `${req.tenantId}:${req.connectionId}:${req.sync}:${req.trigger}`,
      // A store sending a webhook per order must not queue a run per order: change notices for one
      // (connection, sync) become at most one run per slot and one in the next.
      ...(req.trigger === 'webhook' ? { debounceSeconds: WEBHOOK_RUN_DEBOUNCE_SECONDS } : {}),
      policy: { expireInSeconds: 3600, ...RUN_RETRY, ...(opts.retryDelaySeconds !== undefined ? { retryDelaySeconds: opts.retryDelaySeconds } : {}), retryBackoff: true },
    });
  });
  if (tick) await jobs.every(SCHEDULE_JOB, '* * * * *', async () => ({ queued: (await tick()).queued }));
}
