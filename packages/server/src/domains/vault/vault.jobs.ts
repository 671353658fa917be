import type { JobPolicy, JobRunner } from '../../platform/jobs.js';
import type { KeysService } from './keys.service.js';

export const REENCRYPT_JOB = 'vault.reencrypt';
/** `previously`: records re-encrypted by earlier slices of the same rotation (for the audit entry). */
export type ReencryptJob = { tenantId: string | null; previously?: number };

/**
 * Re-encryption runs in slices of at most `sliceMs`, each slice a job that queues the next, so a
 * run never outlives its short expiration. A process killed mid-slice leaves its job `active`;
 * pg-boss's maintenance requeues it once `expireInSeconds` has passed and any node continues from
 * the last committed batch. With the defaults and 10 s maintenance, re-encryption resumes at most
 * about 56 s after a crash: 30 s expiration + up to 20 s until maintenance runs (it is throttled
 * across nodes) + 2–4 s retry delay + 2 s polling.
 */
export type ReencryptPolicy = JobPolicy & { sliceMs: number };
export const REENCRYPT_POLICY: ReencryptPolicy = { sliceMs: 10_000, expireInSeconds: 30, retryLimit: 12, retryDelaySeconds: 2, retryBackoff: true };

/** Re-encrypts a scope's records to its newest data key; queued by `keyhold keys rotate-tenant`. */
export async function registerVaultJobs(jobs: JobRunner, keys: Pick<KeysService, 'reencrypt'>, policy: ReencryptPolicy = REENCRYPT_POLICY) {
  await jobs.handle<ReencryptJob>(REENCRYPT_JOB, async ({ tenantId, previously = 0 }) => {
    const slice = await keys.reencrypt(tenantId, { budgetMs: policy.sliceMs, previously });
    if (!slice.finished) await queueReencrypt(jobs, tenantId, policy, previously + slice.reencrypted);
    return slice;
  });
}

export const queueReencrypt = (jobs: Pick<JobRunner, 'send'>, tenantId: string | null, policy: JobPolicy = REENCRYPT_POLICY, previously = 0) =>
  jobs.send(REENCRYPT_JOB, { tenantId, previously } satisfies ReencryptJob, { singletonKey: tenantId ?? 'platform', policy });
