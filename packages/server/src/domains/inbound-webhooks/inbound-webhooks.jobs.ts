import { type JobRunner, throttled } from '../../platform/jobs.js';
import type { Logger } from '../../platform/logger.js';
import type { InboundWebhooksService } from './inbound-webhooks.service.js';

export const DRAIN_JOB = 'inbound-webhooks.drain';
export const PRUNE_JOB = 'inbound-webhooks.prune';

export type WebhookRetention = { rawDays: number; days: number };

/**
 * Processing runs after the ack, on pg-boss: a stored delivery asks for a drain (throttled, so a
 * burst of deliveries costs a few jobs, not one per event), and a drain runs every minute anyway,
 * which also picks up retries whose backoff passed and events a crash left behind. Retention
 * prunes once a day.
 */
export async function registerInboundWebhookJobs(jobs: JobRunner, inbound: InboundWebhooksService, retention: WebhookRetention, log?: Pick<Logger, 'warn'>) {
  await jobs.every(DRAIN_JOB, '* * * * *', () => inbound.drain({ maxMs: 50_000 }));
  await jobs.every(PRUNE_JOB, '17 3 * * *', () => inbound.prune(retention));
  inbound.useKick(throttled(() => {
    jobs.send(DRAIN_JOB, {}).catch((err: Error) => log?.warn({ err: { message: err.message } }, 'could not ask for an inbound webhook drain; the minutely one will run'));
  }));
}
