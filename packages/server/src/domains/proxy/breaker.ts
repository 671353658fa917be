/**
 * A circuit breaker per connection, in this process. Consecutive provider failures (5xx,
 * timeouts, network errors) open it: calls are refused at once for `cooldownMs`, then one probe
 * is let through (half-open); its success closes the breaker, its failure opens it again.
 * Transitions are reported (the connection's status becomes `degraded` / `active`).
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

export type BreakerDeps = {
  threshold?: number;
  cooldownMs?: number;
  now?: () => number;
  onTransition?: (connectionId: string, to: 'open' | 'closed') => void;
};

export function createBreakers(deps: BreakerDeps = {}) {
  const threshold = deps.threshold ?? 5;
  const cooldownMs = deps.cooldownMs ?? 30_000;
  const now = deps.now ?? Date.now;
  const states = new Map<string, { failures: number; openedAt: number | null; probing: boolean }>();
  const get = (id: string) => {
    let s = states.get(id);
    if (!s) states.set(id, (s = { failures: 0, openedAt: null, probing: false }));
    return s;
  };

  return {
    /** Whether a call may go out now; when open, how long until a probe may (ms). */
    check(id: string): { allowed: true } | { allowed: false; retryInMs: number } {
      const s = states.get(id);
      if (!s || s.openedAt === null) return { allowed: true };
      const left = s.openedAt + cooldownMs - now();
      if (left > 0 || s.probing) return { allowed: false, retryInMs: Math.max(left, 1000) };
      s.probing = true; // half-open: exactly one probe
      return { allowed: true };
    },
    success(id: string) {
      const s = states.get(id);
      if (!s) return;
      const wasOpen = s.openedAt !== null;
      states.delete(id);
      if (wasOpen) deps.onTransition?.(id, 'closed');
    },
    failure(id: string) {
      const s = get(id);
      s.failures += 1;
      const reopen = s.probing;
      s.probing = false;
      if (reopen || (s.openedAt === null && s.failures >= threshold)) {
        const first = s.openedAt === null;
        s.openedAt = now();
        if (first) deps.onTransition?.(id, 'open');
      }
    },
    state(id: string): BreakerState {
      const s = states.get(id);
      if (!s || s.openedAt === null) return 'closed';
      return s.probing || s.openedAt + cooldownMs <= now() ? 'half_open' : 'open';
    },
    openCount: () => [...states.values()].filter((s) => s.openedAt !== null).length,
  };
}
export type Breakers = ReturnType<typeof createBreakers>;
