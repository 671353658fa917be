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
  /** The number of each connection's latest change in this process, oldest first. */
  const changed = new Map<string, number>();
  let changes = 0;
  /** The newest change forgotten to bound `changed`: a connection not listed may have had any change up to it. */
  let forgottenUpTo = 0;
  return {
    keyOf,
    get: (key: string) => map.get(key),
    set: (key: string, entry: WarmEntry) => map.set(key, entry),
    delete: (key: string) => map.delete(key),
    invalidate: (tenantId: string, provider: string, label: string) => {
      const key = keyOf(tenantId, provider, label);
      changed.delete(key);
      changed.set(key, ++changes);
      if (changed.size > max) {
        const [oldest, at] = changed.entries().next().value as [string, number];
        changed.delete(oldest);
        forgottenUpTo = at;
      }
      map.delete(key);
    },
    /**
     * Grows with every change this process makes to the connection (never goes back): a read of
     * its row begun at one version is neither shared nor cached once the version has moved on.
     */
    versionOf: (key: string) => changed.get(key) ?? forgottenUpTo,
  };
}
export type WarmCache = ReturnType<typeof createWarmCache>;
