/**
 * When a failed delivery is tried again: the Standard Webhooks retry schedule (immediately, then
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h after each failure), each wait spread by
 * ±10 % so endpoints that failed together are not retried in one burst. Ten attempts in all.
 */
const S = 1000;
const M = 60 * S;
const H = 60 * M;
export const RETRY_DELAYS_MS = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
export const JITTER = 0.1;
/** Longest wait a receiver's Retry-After may ask for (the schedule's own longest). */
const MAX_RETRY_AFTER_MS = 24 * H;
/** Statuses whose Retry-After Keyhold honours (RFC 9110 §10.2.3: 429 and 503; gateways send it on 502/504). */
export const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);
/** An endpoint that has failed every attempt for this long is disabled. */
export const FAILING_DISABLE_MS = 5 * 24 * H;

/**
 * The wait after attempt `attempt` (1-based) failed, or null when it was the last. A Retry-After
 * the receiver sent is a floor: Keyhold never comes back sooner than asked, nor sooner than the
 * schedule.
 */
export function nextDelayMs(attempt: number, opts: { random: () => number; retryAfterMs?: number | null }): number | null {
  const base = RETRY_DELAYS_MS[attempt - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * opts.random()));
  return Math.max(jittered, Math.min(opts.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d{1,9}$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}
