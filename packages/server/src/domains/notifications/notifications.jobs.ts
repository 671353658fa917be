import { type JobRunner, throttled } from '../../platform/jobs.js';
import type { NotificationsService } from './notifications.service.js';

export const SEND_JOB = 'notifications.send';
export const TRIALS_JOB = 'notifications.trials';

/**
 * Every minute: send what is due (new messages, retries, leases a crashed sender left), and sooner
 * when the outbox drain queued messages (asked after its commit, throttled). Daily: trial reminders.
 */
export async function registerNotificationJobs(jobs: JobRunner, notifications: Pick<NotificationsService, 'sendDue' | 'notifyTrialsEnding' | 'useKick'>) {
  await jobs.every(SEND_JOB, '* * * * *', () => notifications.sendDue());
  await jobs.every(TRIALS_JOB, '15 8 * * *', () => notifications.notifyTrialsEnding());
  notifications.useKick(throttled(() => void jobs.send(SEND_JOB, {}).catch(() => undefined)));
}
