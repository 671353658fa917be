import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import type { AttemptsRepo } from './attempts.repo.js';
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
 * Brute-force limits on sign-in and MFA, kept in Postgres so every node sees the same counts.
 * Keys are hashed before storage (they contain emails and addresses).
 */
export function createAttemptLimiter(deps: { repo: AttemptsRepo; clock: Clock; windowMs?: number }) {
  const windowMs = deps.windowMs ?? ATTEMPT_WINDOW_MS;
  const hashOf = (k: AttemptKey) => sha256(`attempts:${k.key}`);
  const hashes = (keys: AttemptKey[]) => keys.map(hashOf);

  return {
    /** Throws 429 RATE_LIMITED with Retry-After when any key has used up its failures. */
    async assertAllowed(keys: AttemptKey[]) {
      const now = deps.clock();
      const limits = new Map(keys.map((k) => [hashOf(k), k.limit]));
      const rows = await deps.repo.failures(hashes(keys), new Date(now.getTime() - windowMs));
      const blocked = rows.filter((r) => r.failures >= limits.get(r.key_hash)!);
      if (blocked.length === 0) return;
      const until = Math.max(...blocked.map((r) => r.window_started_at.getTime() + windowMs));
      const retryAfter = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
      throw new AppError('RATE_LIMITED', 429, `Too many failed attempts; try again in ${Math.ceil(retryAfter / 60)} minute(s)`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    },
    async recordFailure(keys: AttemptKey[]) {
      const now = deps.clock();
      await deps.repo.recordFailure(hashes(keys), now, new Date(now.getTime() - windowMs));
    },
    async reset(keys: AttemptKey[]) {
      await deps.repo.clear(hashes(keys));
    },
    /** Forgets counters of windows that have ended (the hourly job). */
    prune: () => deps.repo.prune(new Date(deps.clock().getTime() - windowMs)),
  };
}
export type AttemptLimiter = ReturnType<typeof createAttemptLimiter>;
