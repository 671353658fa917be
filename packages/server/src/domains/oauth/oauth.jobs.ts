import type { JobRunner } from '../../platform/jobs.js';
import type { AuthorizeService } from './authorize.service.js';
import type { TokenRefresher } from './refresh.service.js';

export const REFRESH_CRON_JOB = 'oauth.refresh';
export const REFRESH_SWEEP_JOB = 'oauth.refresh-sweep';
export const PURGE_JOB = 'oauth.purge-expired';
/** Sweeps queued per minute: idle nodes pick them up, so the refresh load spreads over the cluster. */
const SWEEPS_PER_MINUTE = 4;

/**
 * Every minute: refresh tokens expiring within the margin. The cron fires once across the cluster
 * and fans out into sweep jobs that any node may run; the claim (FOR UPDATE SKIP LOCKED + lease)
 * keeps two sweeps from taking the same connection.
 */
export async function registerOAuthJobs(jobs: JobRunner, deps: { tokens: Pick<TokenRefresher, 'sweep'>; authorize: Pick<AuthorizeService, 'purgeExpired'> }) {
  await jobs.handle(REFRESH_SWEEP_JOB, async () => deps.tokens.sweep({ maxMs: 50_000 }));
  await jobs.every(REFRESH_CRON_JOB, '* * * * *', async () => {
    for (let i = 0; i < SWEEPS_PER_MINUTE; i++) await jobs.send(REFRESH_SWEEP_JOB, { i });
  });
  await jobs.every(PURGE_JOB, '*/10 * * * *', async () => ({ purged: await deps.authorize.purgeExpired() }));
}
