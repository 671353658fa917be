import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import type { AttemptCount, AttemptsRepo } from './attempts.repo.js';
import { sha256 } from './tokens.js';

export const ATTEMPT_WINDOW_MS = 15 * 60_000;

/** A counter and how many failures it allows per window. */
export type AttemptKey = { key: string; limit: number };

/** 10 failed sign-ins per account, 10 failed codes per user, 100 failures per client address. */
export const attemptKeys = {
  account: (tenantSlug: string, email: string): AttemptKey => ({ key: `login:account:${tenantSlug}:${email}`, limit: 10 }),
  mfa: (userId: string): AttemptKey => ({ key: `mfa:user:${userId}`, limit: 10 }),
  ip: (ip: string | undefined): AttemptKey => ({ key: `ip:${ip ?? 'unknown'}`, limit: 100 }),
};

/**
 * One guess at a password or code, counted before it was checked. Left alone it stays counted:
 * that is the failure. Call `release` when it turns out to be no wrong guess.
 */
export type Attempt = {
  /**
   * The credential was right, or was never checked: this attempt stops counting. Keys in `reset`
   * are cleared altogether (a right password ends an account's run of failures); the others only
   * lose this attempt, so a success never takes back failures of other attempts (a sign-in to
   * one's own account does not buy more guesses at others from the same address).
   */
  release(opts?: { reset?: AttemptKey[] }): Promise<void>;
  /** For `.catch` around a check: wrong credentials resolve, so an error is no wrong guess. */
  releaseAndThrow(err: unknown): Promise<never>;
};

/**
 * Brute-force limits on sign-in and MFA, kept in Postgres so every node sees the same counts.
 * Keys are hashed before storage (they contain emails and addresses).
 *
 * An attempt is counted atomically *before* its credential is checked (`reserve`), so parallel
 * attempts count against each other: of any burst, at most `limit` per key are ever checked.
 */
export function createAttemptLimiter(deps: { repo: AttemptsRepo; clock: Clock; windowMs?: number }) {
  const windowMs = deps.windowMs ?? ATTEMPT_WINDOW_MS;
  const hashOf = (k: AttemptKey) => sha256(`attempts:${k.key}`);

  function rateLimited(blocked: AttemptCount[], now: Date): AppError {
    const until = Math.max(...blocked.map((r) => r.window_started_at.getTime() + windowMs));
    const retryAfter = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
    return new AppError('RATE_LIMITED', `Too many failed attempts; try again in ${Math.ceil(retryAfter / 60)} minute(s)`, {
      headers: { 'retry-after': String(retryAfter) },
    });
  }

  /**
   * Counts one attempt against every key; throws 429 RATE_LIMITED with Retry-After when that puts
   * any key over its limit. A refused attempt is taken back at once (it guessed nothing, so it
   * must not use up the budget of its other keys), and it does no argon2 or TOTP work: whether it
   * is refused depends only on the counts of the (tenant, email), user and address it names —
   * which exist alike for real and unknown accounts — so answering fast reveals nothing, while
   * hashing would hand a flood free CPU on the server.
   */
  async function reserve(keys: AttemptKey[]): Promise<Attempt> {
    const now = deps.clock();
    const limits = new Map(keys.map((k) => [hashOf(k), k.limit]));
    const counts = await deps.repo.reserve([...limits.keys()], now, new Date(now.getTime() - windowMs));
    const blocked = counts.filter((c) => c.failures > limits.get(c.key_hash)!);
    if (blocked.length > 0) {
      await deps.repo.release(counts);
      throw rateLimited(blocked, now);
    }
    const release = async (opts: { reset?: AttemptKey[] } = {}) => {
      const reset = new Set((opts.reset ?? []).map(hashOf));
      await deps.repo.clear([...reset]);
      await deps.repo.release(counts.filter((c) => !reset.has(c.key_hash)));
    };
    return {
      release,
      async releaseAndThrow(err: unknown): Promise<never> {
        await release();
        throw err;
      },
    };
  }

  return {
    reserve,
    /** Forgets counters of windows that have ended (the hourly job). */
    prune: () => deps.repo.prune(new Date(deps.clock().getTime() - windowMs)),
  };
}
export type AttemptLimiter = ReturnType<typeof createAttemptLimiter>;
