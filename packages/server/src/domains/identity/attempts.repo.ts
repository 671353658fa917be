import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';

type Db = Kysely<Database>;

export type AttemptCount = { key_hash: string; failures: number; window_started_at: Date };

// Lock order: every statement that locks more than one counter row takes them in key_hash order
// (and prune skips locked rows), so parallel sign-ins sharing an address never deadlock.
export function createAttemptsRepo(db: Db) {
  return {
    /**
     * Counts one attempt per key in one statement, starting a new window where the old one has
     * ended, and returns each key's count including this attempt. Row locks serialize parallel
     * attempts on a key, so each one sees the counts of all before it.
     */
    async reserve(keyHashes: string[], now: Date, windowStart: Date): Promise<AttemptCount[]> {
      const keys = [...new Set(keyHashes)];
      if (keys.length === 0) return [];
      const { rows } = await sql<AttemptCount>`
        insert into auth_attempts (key_hash, window_started_at, failures)
          select k, ${now}::timestamptz, 1 from unnest(${keys}::text[]) as k order by k collate "C"
        on conflict (key_hash) do update set
          failures = case when auth_attempts.window_started_at > ${windowStart} then auth_attempts.failures + 1 else 1 end,
          window_started_at = case when auth_attempts.window_started_at > ${windowStart} then auth_attempts.window_started_at else excluded.window_started_at end
        returning key_hash, failures, window_started_at`.execute(db);
      return rows;
    },
    /** Takes back one attempt per key, only from the window it was counted in. */
    async release(counts: Pick<AttemptCount, 'key_hash' | 'window_started_at'>[]) {
      if (counts.length === 0) return;
      await sql`
        with mine as (
          select a.key_hash from auth_attempts a
            join unnest(${counts.map((c) => c.key_hash)}::text[], ${counts.map((c) => c.window_started_at)}::timestamptz[]) as r(key_hash, started)
              on a.key_hash = r.key_hash and a.window_started_at = r.started
            where a.failures > 0
            order by a.key_hash collate "C"
            for update of a
        )
        update auth_attempts set failures = auth_attempts.failures - 1 from mine where auth_attempts.key_hash = mine.key_hash`.execute(db);
    },
    /** Drops counters whose window ended before `before`; returns how many. */
    async prune(before: Date) {
      const res = await sql`
        delete from auth_attempts where key_hash in (
          select key_hash from auth_attempts where window_started_at < ${before} for update skip locked)`.execute(db);
      return Number(res.numAffectedRows ?? 0);
    },
    async clear(keyHashes: string[]) {
      for (const key of keyHashes) await db.deleteFrom('auth_attempts').where('key_hash', '=', key).execute();
    },
  };
}
export type AttemptsRepo = ReturnType<typeof createAttemptsRepo>;
