import type { JobRunner } from '../../platform/jobs.js';
import type { Logger } from '../../platform/logger.js';
import type { InboundWebhooksService } from './inbound-webhooks.service.js';

export const DRAIN_JOB = 'inbound-webhooks.drain';
export const PRUNE_JOB = 'inbound-webhooks.prune';

export type WebhookRetention = { rawDays: number; days: number };

/** A node asks for a drain at most this often; one asked for inside the window runs at its end. */
const KICK_WINDOW_MS = 250;

/**
 * Processing runs after the ack, on pg-boss: a stored delivery asks for a drain (throttled, so a
 * burst of deliveries costs a few jobs, not one per event), and a drain runs every minute anyway,
 * which also picks up retries whose backoff passed and events a crash left behind. Retention
 * prunes once a day.
 */
export async function registerInboundWebhookJobs(jobs: JobRunner, inbound: InboundWebhooksService, retention: WebhookRetention, log?: Pick<Logger, 'warn'>) {
  await jobs.every(DRAIN_JOB, '* * * * *', () => inbound.drain({ maxMs: 50_000 }));
  await jobs.every(PRUNE_JOB, '17 3 * * *', () => inbound.prune(retention));
  let last = 0;
  let trailing: NodeJS.Timeout | undefined;
  const send = () => {
    last = Date.now();
    jobs.send(DRAIN_JOB, {}).catch((err: Error) => log?.warn({ err: { message: err.message } }, 'could not ask for an inbound webhook drain; the minutely one will run'));
  };
  inbound.useKick(() => {
    if (trailing) return;
    const wait = last + KICK_WINDOW_MS - Date.now();
    if (wait <= 0) send();
    else trailing = setTimeout(() => {
      trailing = undefined;
      send();
    }, wait).unref();
  });
}
