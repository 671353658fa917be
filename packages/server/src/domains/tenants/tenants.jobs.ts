import { systemActor } from '../../platform/context.js';
import type { JobRunner } from '../../platform/jobs.js';
import type { TenantsService } from './tenants.service.js';

export const EXPIRE_TRIALS_JOB = 'tenants.expire-trials';

/** Every 15 minutes, trials past `trial_ends_at` become `trial_expired` (audited per tenant). */
export async function registerTenantJobs(jobs: JobRunner, tenants: Pick<TenantsService, 'expireTrials'>) {
  await jobs.every(EXPIRE_TRIALS_JOB, '*/15 * * * *', async () => ({ expired: await tenants.expireTrials({ actor: systemActor }) }));
}
