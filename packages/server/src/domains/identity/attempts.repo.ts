import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';

type Db = Kysely<Database>;

export function createAttemptsRepo(db: Db) {
  return {
    /** Failures per key within their current window (windows older than `windowStart` count as 0). */
    async failures(keyHashes: string[], windowStart: Date) {
      if (keyHashes.length === 0) return [];
      return db
        .selectFrom('auth_attempts')
        .select(['key_hash', 'failures', 'window_started_at'])
        .where('key_hash', 'in', keyHashes)
        .where('window_started_at', '>', windowStart)
        .execute();
    },
    /** Counts one failure per key, starting a new window where the old one has ended. */
    async recordFailure(keyHashes: string[], now: Date, windowStart: Date) {
      for (const key of keyHashes) {
        await sql`insert into auth_attempts (key_hash, window_started_at, failures) values (${key}, ${now}, 1)
          on conflict (key_hash) do update set
            failures = case when auth_attempts.window_started_at > ${windowStart} then auth_attempts.failures + 1 else 1 end,
            window_started_at = case when auth_attempts.window_started_at > ${windowStart} then auth_attempts.window_started_at else ${now} end`.execute(db);
      }
    },
    /** Drops counters whose window ended before `before`; returns how many. */
    async prune(before: Date) {
      const res = await db.deleteFrom('auth_attempts').where('window_started_at', '<', before).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
    async clear(keyHashes: string[]) {
      if (keyHashes.length) await db.deleteFrom('auth_attempts').where('key_hash', 'in', keyHashes).execute();
    },
  };
}
export type AttemptsRepo = ReturnType<typeof createAttemptsRepo>;
