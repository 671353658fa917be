import { boundedMap } from './bounded-map.js';

/**
 * What a node knows about debounced sends (pg-boss's singletonSeconds + singletonNextSlot): a send
 * fills its key's slot, or else the next one; a send that found both full created nothing, and
 * every later send of that key fails the same way until the slot ends. The node remembers that end
 * and answers such sends itself instead of asking the database again (a store sending a webhook
 * per order asked several times a second, for every sync of the connection).
 *
 * Slots are cut by the database's clock (`now()` in the insert), so times here are the database's
 * as this node estimates it (`dbNow`; undefined while it has no estimate: then nothing is
 * answered). `marginMs` covers the estimate's error, on both sides: the slot is taken to start
 * before it may have, and the node stops answering before it may end. A send that waited for a
 * connection ran later than `sentAt`, in the same slot or a later one: the slot taken is never
 * later than the true one. Within the margin a wrong estimate can only ask the database again.
 */
export function createDebounceMemo(opts: { dbNow: () => number | undefined; marginMs: number; max?: number }) {
  const fullUntil = boundedMap<string, number>(opts.max ?? 10_000);
  return {
    /** True when a send of `key` now would find its slot and the next one full. */
    isFull(key: string): boolean {
      const until = fullUntil.get(key);
      const now = opts.dbNow();
      if (until === undefined || now === undefined) return false;
      if (now + opts.marginMs < until) return true;
      fullUntil.delete(key);
      return false;
    },
    /** A send of `key` begun at `sentAt` (database clock) created nothing: both slots were full. */
    foundFull(key: string, seconds: number, sentAt: number | undefined) {
      if (sentAt === undefined) return;
      const slotMs = seconds * 1000;
      fullUntil.set(key, (Math.floor((sentAt - opts.marginMs) / slotMs) + 1) * slotMs);
    },
  };
}
