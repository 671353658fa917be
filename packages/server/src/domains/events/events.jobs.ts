import type { JobRunner } from '../../platform/jobs.js';
import type { EventsService } from './events.service.js';

export const DRAIN_JOB = 'events.drain';

/** Every minute (once across the cluster): hand the outbox's new events to their consumers. */
export async function registerEventJobs(jobs: JobRunner, events: Pick<EventsService, 'drain'>) {
  await jobs.every(DRAIN_JOB, '* * * * *', async () => events.drain({ maxMs: 50_000 }));
}
