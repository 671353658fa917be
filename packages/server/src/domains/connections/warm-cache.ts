import { boundedMap } from '../../platform/bounded-map.js';
import type { ConnectionRow } from './connections.repo.js';

export type WarmEntry = { row: ConnectionRow; secrets: Record<string, string>; cachedAt: number; checkedAt: number };

/**
 * Decrypted connections this process used recently, so a busy integration does not decrypt and
 * read its row on every call. Entries live at most a minute and are re-checked against the
 * database every second; whoever changes a connection in this process drops its entry at once.
 */
export function createWarmCache(max = 10_000) {
  const map = boundedMap<string, WarmEntry>(max);
  const keyOf = (tenantId: string, provider: string, label: string) => `${tenantId}\u0000${provider}\u0000${label}`;
  let changes = 0;
  return {
    keyOf,
    get: (key: string) => map.get(key),
    set: (key: string, entry: WarmEntry) => map.set(key, entry),
    delete: (key: string) => map.delete(key),
    invalidate: (tenantId: string, provider: string, label: string) => {
      changes++;
      map.delete(keyOf(tenantId, provider, label));
    },
    /** How many changes this process has made to connections: a read begun before one is not shared after it. */
    changes: () => changes,
  };
}
export type WarmCache = ReturnType<typeof createWarmCache>;
