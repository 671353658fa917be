import { boundedMap } from './bounded-map.js';

/**
 * What a node knows about debounced sends (pg-boss's singletonSeconds + singletonNextSlot): a send
 * fills its key's slot, or else the next one; a send that found both full created nothing, and
 * every later send of that key fails the same way until the slot ends. The node remembers that end
 * and answers such sends itself instead of asking the database again (a store sending a webhook
 * per order asked several times a second, for every sync of the connection).
 *
 * Slots are cut by the database's clock (`now()` in the insert), so times here are the database's:
 * the node's clock plus the skew measured against it. `marginMs` covers the skew's error and the
 * time the statement took, on both sides: the slot is taken to start before it may have, and the
 * node stops answering before it may end. A wrong guess can only ask the database once more.
 */
export function createDebounceMemo(opts: { dbNow: () => number; marginMs: number; max?: number }) {
  const fullUntil = boundedMap<string, number>(opts.max ?? 10_000);
  return {
    /** True when a send of `key` now would find its slot and the next one full. */
    isFull(key: string): boolean {
      const until = fullUntil.get(key);
      if (until === undefined) return false;
      if (opts.dbNow() + opts.marginMs < until) return true;
      fullUntil.delete(key);
      return false;
    },
    /** A send of `key` begun at `sentAt` (database clock) created nothing: both slots were full. */
    foundFull(key: string, seconds: number, sentAt: number) {
      const slotMs = seconds * 1000;
      fullUntil.set(key, (Math.floor((sentAt - opts.marginMs) / slotMs) + 1) * slotMs);
    },
  };
}
