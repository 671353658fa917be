import type { HeaderReader, RateSignal } from '../adapter.js';

/** A header holding a whole number of calls; absent, blank or anything else: undefined. */
function count(header: HeaderReader, name: string): number | undefined {
  const raw = header(name)?.trim();
  return raw && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/**
 * The calls a provider says are left in one window of its limit, with the window's limit where
 * the answer states it too. No signal when the remaining count is missing or malformed.
 */
export function remainingCalls(header: HeaderReader, bucket: RateSignal['bucket'], names: { remaining: string; limit?: string }): RateSignal[] {
  const remaining = count(header, names.remaining);
  if (remaining === undefined) return [];
  const limit = names.limit ? count(header, names.limit) : undefined;
  return [{ bucket, remaining, ...(limit ? { limit } : {}) }];
}
