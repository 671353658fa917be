import type { JobRunner } from '../../platform/jobs.js';
import { AppError } from '../../platform/errors.js';
import type { RunRequest } from './run.js';
import type { SyncsService } from './syncs.service.js';

export const RUN_JOB = 'syncs.run';

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
      policy: { expireInSeconds: 3600, retryLimit: 10, retryDelaySeconds: 30, retryBackoff: true },
    });
  });
}
