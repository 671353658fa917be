import type { JobRunner } from '../../platform/jobs.js';
import type { KeysService } from './keys.service.js';

export const REENCRYPT_JOB = 'vault.reencrypt';
export type ReencryptJob = { tenantId: string | null };

/** Re-encrypts a scope's records to its newest data key; queued by `keyhold keys rotate-tenant`. */
export async function registerVaultJobs(jobs: JobRunner, keys: Pick<KeysService, 'reencrypt'>) {
  await jobs.handle<ReencryptJob>(REENCRYPT_JOB, async ({ tenantId }) => keys.reencrypt(tenantId));
}

export const queueReencrypt = (jobs: Pick<JobRunner, 'send'>, tenantId: string | null) =>
  jobs.send(REENCRYPT_JOB, { tenantId }, { singletonKey: tenantId ?? 'platform' });
