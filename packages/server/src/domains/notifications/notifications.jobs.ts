import type { JobRunner } from '../../platform/jobs.js';
import type { NotificationsService } from './notifications.service.js';

export const SEND_JOB = 'notifications.send';
export const TRIALS_JOB = 'notifications.trials';

/** Every minute: send what is due (new messages, retries, leases a crashed sender left). Daily: trial reminders. */
export async function registerNotificationJobs(jobs: JobRunner, notifications: Pick<NotificationsService, 'sendDue' | 'notifyTrialsEnding'>) {
  await jobs.every(SEND_JOB, '* * * * *', () => notifications.sendDue());
  await jobs.every(TRIALS_JOB, '15 8 * * *', () => notifications.notifyTrialsEnding());
}
