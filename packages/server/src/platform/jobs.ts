import PgBoss from 'pg-boss';
import { JOBS_SCHEMA } from './db/job-schema.js';
import { startDatabaseClock } from './database-clock.js';
import { createDebounceMemo } from './debounce-memo.js';
import type { Logger } from './logger.js';

/**
 * Background jobs on pg-boss: queues live in Postgres (schema `pgboss`), so any number of nodes
 * share them, cron schedules fire once across the cluster, and failed jobs are retried.
 * pg-boss logs in as the jobs role, which owns its schema and nothing else (see
 * db/job-schema.ts); tenant work inside a job goes through the app role and `withTenant`.
 */
export type JobRunner = {
  /** Runs `handler` on `cron` (UTC), once across every node. */
  every(name: string, cron: string, handler: () => Promise<unknown>): Promise<void>;
  /** Queues a run now (operators, tests). */
  runNow(name: string): Promise<string | null>;
  /** Handles jobs sent to `name` with `send` (retried by pg-boss on failure; `attempt` counts from 1). */
  handle<T extends object>(name: string, handler: (data: T, job: { attempt: number; lastAttempt: boolean }) => Promise<unknown>): Promise<void>;
  /**
   * `debounceSeconds` (with `singletonKey`): at most one job per key in each slot of that many
   * seconds; a send while the slot is taken goes to the next slot (pg-boss's singletonSeconds +
   * singletonNextSlot), so a burst becomes at most two jobs. Returns null when nothing was created.
   * Once a send of a key created nothing, the node answers that key's sends itself (null) until
   * its slot ends (debounce-memo.ts): a storm of sends costs the database a few statements.
   */
  send(name: string, data: object, opts?: { singletonKey?: string; debounceSeconds?: number; policy?: JobPolicy; /** Higher first (pg-boss priority; default 0). */ priority?: number }): Promise<string | null>;
  stop(): Promise<void>;
};

/**
 * How long a run may stay `active` and how it is retried. pg-boss gives up on a handler after
 * `expireInSeconds` and its maintenance puts a job whose process died back in the queue once that
 * time has passed, so a short expiration is what makes work resume soon after a crash.
 */
export type JobPolicy = { expireInSeconds: number; retryLimit: number; retryDelaySeconds: number; retryBackoff: boolean };

export type JobRunnerOptions = {
  /** The jobs role's login. */
  url: string;
  log: Logger;
  /**
   * How often (across the cluster) pg-boss's maintenance requeues expired jobs. pg-boss's own
   * default is 120 s; 10 s keeps recovery after a crash within a minute.
   */
  maintenanceIntervalSeconds?: number;
  /** How often an idle worker looks for jobs (pg-boss default 2 s). */
  pollingIntervalSeconds?: number;
};

/**
 * pg-boss creates one table per queue on first use; several nodes starting at the same moment
 * can deadlock on that DDL. Postgres picks a victim and says so (40P01): try again.
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

export async function startJobRunner(opts: JobRunnerOptions): Promise<JobRunner> {
  // pg-boss hands its options to pg's Pool, whose `connectionTimeoutMillis` its types do not list.
  const options: ConstructorParameters<typeof PgBoss>[0] & { connectionTimeoutMillis: number } = {
    connectionString: opts.url,
    schema: JOBS_SCHEMA,
    application_name: 'keyhold-jobs',
    max: 3,
    // About sixteen workers poll through these three connections. Without a timeout, a worker still
    // waiting for one when the node stops is never answered (the pool's end() does not reject its
    // waiters), pg-boss waits on that worker forever and the process never exits.
    connectionTimeoutMillis: 5_000,
    maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 10,
    ...(opts.pollingIntervalSeconds ? { pollingIntervalSeconds: opts.pollingIntervalSeconds } : {}),
  };
  const boss = new PgBoss(options);
  boss.on('error', (err) => opts.log.error({ err: { message: err.message } }, 'job runner error'));
  await retryOnDeadlock(() => boss.start());
  // Requeue at once what a crashed process left active past its expiration, instead of waiting
  // for the first maintenance tick: a restarted node resumes that work immediately.
  await boss.expire().catch((err: Error) => opts.log.warn({ err: { message: err.message } }, 'could not expire stale jobs at start'));
  // A queue is created once per node (pg-boss's createQueue is a statement every call, and every
  // send needed it).
  const created = new Set<string>();
  const createQueue = async (name: string) => {
    if (created.has(name)) return;
    await retryOnDeadlock(() => boss.createQueue(name));
    created.add(name);
  };
  // Slots are cut by the database's clock; pg-boss also checks its own skew every 10 minutes.
  const clock = await startDatabaseClock({
    read: async () => {
      const { rows } = await boss.getDb().executeSql('select extract(epoch from clock_timestamp()) * 1000 as ms', []) as { rows: Array<{ ms: string | number }> };
      return Number(rows[0]!.ms);
    },
    onError: (err) => opts.log.warn({ err: { message: err.message } }, 'could not read the database clock; debounced jobs keep the last reading'),
  });
  const debounced = createDebounceMemo({ dbNow: clock.now, marginMs: DEBOUNCE_MARGIN_MS });
  const work = opts.pollingIntervalSeconds ? { pollingIntervalSeconds: opts.pollingIntervalSeconds } : {};
  return {
    async every(name, cron, handler) {
      await createQueue(name);
      await retryOnDeadlock(() => boss.schedule(name, cron, {}, { tz: 'UTC' }));
      await boss.work(name, work, async () => {
        const started = Date.now();
        const result = await handler();
        opts.log.info({ job: name, ms: Date.now() - started }, 'job finished');
        return result;
      });
    },
    runNow: (name) => boss.send(name, {}),
    async handle(name, handler) {
      await createQueue(name);
      await boss.work<object>(name, { ...work, includeMetadata: true }, async (jobs) => {
        for (const job of jobs) await handler(job.data as never, { attempt: job.retryCount + 1, lastAttempt: job.retryCount >= job.retryLimit });
      });
    },
    async send(name, data, { singletonKey, debounceSeconds, policy, priority } = {}) {
      const memoKey = debounceSeconds && singletonKey ? `${name}\u0000${debounceSeconds}\u0000${singletonKey}` : undefined;
      if (memoKey && debounced.isFull(memoKey)) return null;
      await createQueue(name);
      const sentAt = clock.now();
      const id = await boss.send(name, data, {
        ...(singletonKey ? { singletonKey } : {}),
        ...(priority ? { priority } : {}),
        ...(debounceSeconds ? { singletonSeconds: debounceSeconds, singletonNextSlot: true } : {}),
        ...(policy
          ? { expireInSeconds: policy.expireInSeconds, retryLimit: policy.retryLimit, retryDelay: policy.retryDelaySeconds, retryBackoff: policy.retryBackoff }
          : {}),
      });
      if (memoKey && id === null) debounced.foundFull(memoKey, debounceSeconds!, sentAt);
      return id;
    },
    async stop() {
      clock.stop();
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}

/** Debounced sends: how far the node's estimate of the database's clock may be off (see debounce-memo.ts). */
const DEBOUNCE_MARGIN_MS = 1_000;
/** A node asks for a job at most this often; one asked for inside the window runs at its end. */
const KICK_WINDOW_MS = 250;

/** `send` at most once per window, the last request in a window honoured at its end. */
export function throttled(send: () => void, windowMs = KICK_WINDOW_MS) {
  let last = 0;
  let trailing: NodeJS.Timeout | undefined;
  return () => {
    if (trailing) return;
    const wait = last + windowMs - Date.now();
    const go = () => {
      trailing = undefined;
      last = Date.now();
      send();
    };
    if (wait <= 0) go();
    else trailing = setTimeout(go, wait).unref();
  };
}
