import type { JobPolicy, JobRunner } from '../../platform/jobs.js';
import type { InboundWebhooksService } from './inbound-webhooks.service.js';

export const PROCESS_JOB = 'inbound-webhooks.process';
export const SWEEP_JOB = 'inbound-webhooks.sweep';
export const PRUNE_JOB = 'inbound-webhooks.prune';

/** Retried with backoff (pg-boss): 5 tries over a few minutes; the service marks the 5th failure `failed`. */
const PROCESS_POLICY: JobPolicy = { expireInSeconds: 120, retryLimit: 4, retryDelaySeconds: 5, retryBackoff: true };

export type WebhookRetention = { rawDays: number; days: number };

/**
 * Processing runs after the ack: each stored event is a job (queued after its commit); a sweep
 * every minute queues what a crash left behind; retention prunes once a day.
 */
export async function registerInboundWebhookJobs(jobs: JobRunner, inbound: InboundWebhooksService, retention: WebhookRetention) {
  await jobs.handle<{ tenantId: string; id: string }>(PROCESS_JOB, async ({ tenantId, id }) => {
    try {
      await inbound.process(tenantId, id);
    } catch (err) {
      // Rethrown while attempts remain, so pg-boss retries with backoff; the last one stays `failed`.
      if (await inbound.recordFailure(tenantId, id, err)) throw err;
    }
  });
  inbound.useQueue(async (items) => {
    for (const item of items) await jobs.send(PROCESS_JOB, item, { singletonKey: item.id, policy: PROCESS_POLICY });
  });
  await jobs.every(SWEEP_JOB, '* * * * *', () => inbound.sweep());
  await jobs.every(PRUNE_JOB, '17 3 * * *', () => inbound.prune(retention));
}
