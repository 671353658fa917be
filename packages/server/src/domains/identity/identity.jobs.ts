import type { JobRunner } from '../../platform/jobs.js';
import type { AttemptLimiter } from './attempts.js';

export const PRUNE_ATTEMPTS_JOB = 'identity.prune-attempts';

/** Hourly: counters of brute-force windows that have ended are deleted. */
export async function registerIdentityJobs(jobs: JobRunner, attempts: Pick<AttemptLimiter, 'prune'>) {
  await jobs.every(PRUNE_ATTEMPTS_JOB, '7 * * * *', async () => ({ pruned: await attempts.prune() }));
}
