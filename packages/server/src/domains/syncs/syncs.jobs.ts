import type { JobRunner } from '../../platform/jobs.js';
import { AppError } from '../../platform/errors.js';
import type { RunRequest } from './run.js';
import type { SyncsService } from './syncs.service.js';

export const RUN_JOB = 'syncs.run';
/** Change notices of one (connection, sync) within this many seconds share a run. */
export const WEBHOOK_RUN_DEBOUNCE_SECONDS = 30;

/**
 * Runs on pg-boss: any node may take a queued run; the run's lease (a `running` row in
 * `sync_runs`) keeps one run per (connection, sync) across nodes. A change notice arriving while
 * a run is in progress is retried until that run ends, so the change is not missed.
 */
export async function registerSyncJobs(jobs: JobRunner, syncs: Pick<SyncsService, 'run' | 'useQueue'>) {
  await jobs.handle<RunRequest>(RUN_JOB, async (req) => {
    try {
      await syncs.run(req);
    } catch (err) {
      if (err instanceof AppError && err.code === 'SYNC_ALREADY_RUNNING' && req.trigger === 'webhook') throw err;
      if (!(err instanceof AppError)) throw err;
    }
  });
  syncs.useQueue(async (req) => {
    await jobs.send(RUN_JOB, req, {
      singletonKey: `${req.tenantId}:${req.connectionId}:${req.sync}:${req.trigger}`,
      // A store sending a webhook per order must not queue a run per order: change notices for one
      // (connection, sync) become at most one run per slot and one in the next.
      ...(req.trigger === 'webhook' ? { debounceSeconds: WEBHOOK_RUN_DEBOUNCE_SECONDS } : {}),
      policy: { expireInSeconds: 3600, retryLimit: 10, retryDelaySeconds: 30, retryBackoff: true },
    });
  });
}
