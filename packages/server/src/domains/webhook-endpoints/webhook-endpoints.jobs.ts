import { type JobRunner, throttled } from '../../platform/jobs.js';
import type { Logger } from '../../platform/logger.js';
import { DRAIN_JOB as EVENTS_DRAIN_JOB } from '../events/events.jobs.js';
import type { EventsService } from '../events/events.service.js';
import type { DeliverySender } from './deliveries.sender.js';
import type { WebhookEndpointsService } from './webhook-endpoints.service.js';

export const SEND_JOB = 'webhook-deliveries.send';
export const PRUNE_JOB = 'webhook-deliveries.prune';

/** Retries due sooner than this get a timer on this node; later ones are the minutely run's. */
const TIMER_MAX_MS = 60_000;

/**
 * Outbound webhooks on pg-boss: a send runs every minute (retries whose wait passed, deliveries a
 * crash left leased), and sooner when asked: an event appended asks for an outbox drain, a drain
 * that queued deliveries asks for a send, a retry due within a minute sets a timer for its send.
 * Retention prunes once a day.
 */
export async function registerWebhookEndpointJobs(
  jobs: JobRunner,
  s: { events: Pick<EventsService, 'useKick'>; webhookEndpoints: Pick<WebhookEndpointsService, 'useKick'>; webhookDeliveries: DeliverySender },
  retention: { payloadDays: number; days: number },
  log?: Pick<Logger, 'warn'>,
) {
  await jobs.every(SEND_JOB, '* * * * *', () => s.webhookDeliveries.sendDue({ maxMs: 50_000 }));
  await jobs.every(PRUNE_JOB, '41 3 * * *', () => s.webhookDeliveries.prune(retention));
  const ask = (name: string) => () =>
    void jobs.send(name, {}).catch((err: Error) => log?.warn({ job: name, err: { message: err.message } }, 'could not ask for a job; the minutely one will run'));
  s.events.useKick(throttled(ask(EVENTS_DRAIN_JOB)));
  const send = throttled(ask(SEND_JOB));
  s.webhookEndpoints.useKick((afterMs) => {
    if (!afterMs) return send();
    if (afterMs <= TIMER_MAX_MS) setTimeout(send, afterMs).unref();
  });
  // A node that starts (perhaps after a crash) sends what is due now rather than at the next minute.
  send();
}
