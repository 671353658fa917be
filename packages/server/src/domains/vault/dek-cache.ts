/**
 * Unwrapped data keys in memory, keyed by scope (tenant id or `platform`) and version: bounded
 * (LRU) and short-lived (TTL). Evicted keys are zeroed before they are dropped.
 */
export function createDekCache(opts: { max?: number; ttlMs?: number; now?: () => number } = {}) {
  const max = opts.max ?? 1000;
  const ttlMs = opts.ttlMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { key: Buffer; expires: number }>();

  const evict = (id: string) => {
    const e = entries.get(id);
    if (!e) return;
    e.key.fill(0);
    entries.delete(id);
  };

  return {
    /** The key, unless it is missing or expires within `minLifeMs` (then it is due for a fresh unwrap). */
    get(scope: string, version: number, minLifeMs = 0): Buffer | undefined {
      const id = `${scope}:${version}`;
      const e = entries.get(id);
      if (!e) return undefined;
      const t = now();
      if (e.expires <= t) {
        evict(id);
        return undefined;
      }
      if (e.expires <= t + minLifeMs) return undefined;
      entries.delete(id); // re-insert: Map order is the LRU order
      entries.set(id, e);
      return e.key;
    },
    set(scope: string, version: number, key: Buffer) {
      const id = `${scope}:${version}`;
      evict(id);
      entries.set(id, { key, expires: now() + ttlMs });
      while (entries.size > max) evict(entries.keys().next().value!);
    },
    /** Drops every key of a scope (after rotation or retirement). */
    forget(scope: string) {
      for (const id of [...entries.keys()]) if (id.startsWith(`${scope}:`)) evict(id);
    },
    get size() {
      return entries.size;
    },
    /** How many keys it holds at most. */
    max,
  };
}
export type DekCache = ReturnType<typeof createDekCache>;
