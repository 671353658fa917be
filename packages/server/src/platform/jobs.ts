import PgBoss from 'pg-boss';
import type { Logger } from './logger.js';

/**
 * Background jobs on pg-boss: queues live in Postgres (schema `pgboss`), so any number of nodes
 * share them, cron schedules fire once across the cluster, and failed jobs are retried.
 * pg-boss manages its own schema, so it connects with the migrator login; tenant work inside a
 * job still goes through the app role and `withTenant`.
 */
export type JobRunner = {
  /** Runs `handler` on `cron` (UTC), once across every node. */
  every(name: string, cron: string, handler: () => Promise<unknown>): Promise<void>;
  /** Queues a run now (operators, tests). */
  runNow(name: string): Promise<string | null>;
  /** Handles jobs sent to `name` with `send` (retried by pg-boss on failure). */
  handle<T extends object>(name: string, handler: (data: T) => Promise<unknown>): Promise<void>;
  send(name: string, data: object, opts?: { singletonKey?: string }): Promise<string | null>;
  stop(): Promise<void>;
};

/**
 * pg-boss creates its schema and one table per queue on first use; several nodes starting at the
 * same moment can deadlock on that DDL. Postgres picks a victim and says so (40P01): try again.
 */
async function retryOnDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= 8) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200 * (attempt + 1)));
    }
  }
}

export async function startJobRunner(opts: { url: string; log: Logger }): Promise<JobRunner> {
  const boss = new PgBoss({ connectionString: opts.url, application_name: 'keyhold-jobs', max: 3 });
  boss.on('error', (err) => opts.log.error({ err: { message: err.message } }, 'job runner error'));
  await retryOnDeadlock(() => boss.start());
  const createQueue = (name: string) => retryOnDeadlock(() => boss.createQueue(name));
  return {
    async every(name, cron, handler) {
      await createQueue(name);
      await retryOnDeadlock(() => boss.schedule(name, cron, {}, { tz: 'UTC' }));
      await boss.work(name, async () => {
        const started = Date.now();
        const result = await handler();
        opts.log.info({ job: name, ms: Date.now() - started }, 'job finished');
        return result;
      });
    },
    runNow: (name) => boss.send(name, {}),
    async handle(name, handler) {
      await createQueue(name);
      await boss.work<object>(name, async (jobs) => {
        for (const job of jobs) await handler(job.data as never);
      });
    },
    async send(name, data, opts = {}) {
      await createQueue(name);
      return boss.send(name, data, opts.singletonKey ? { singletonKey: opts.singletonKey } : {});
    },
    stop: () => boss.stop({ graceful: true, timeout: 10_000 }),
  };
}
