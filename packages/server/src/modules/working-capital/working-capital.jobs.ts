import type { JobRunner } from '../../platform/jobs.js';
import type { WorkingCapitalService } from './working-capital.service.js';

export const SNAPSHOT_JOB = 'working-capital.snapshot';

/** Every day at 23:50 UTC, once across the cluster: each tenant's snapshot of the day (a rerun replaces it). */
export async function registerWorkingCapitalJobs(jobs: JobRunner, workingCapital: Pick<WorkingCapitalService, 'snapshotAll'>) {
  await jobs.every(SNAPSHOT_JOB, '50 23 * * *', () => workingCapital.snapshotAll());
}
