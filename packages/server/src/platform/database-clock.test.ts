import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startDatabaseClock } from './database-clock.js';

/** A database whose clock runs `offsetMs` ahead of this node's and answers after `delays` ms, one per reading. */
function database(offsetMs: number, delays: number[]) {
  let n = 0;
  return {
    readings: () => n,
    read: async () => {
      await sleep(delays[n++] ?? 0);
      return Date.now() + offsetMs;
    },
  };
}

describe('database clock', () => {
  it('takes the reading with the shortest round trip and carries it forward', async () => {
    const db = database(60_000, [300, 1, 300]);
    const clock = await startDatabaseClock({ read: db.read, onError: () => undefined, maxRoundTripMs: 500 });
    const error = clock.now()! - (Date.now() + 60_000);
    clock.stop();
    // The middle of a ~1 ms round trip, not of a 300 ms one (which would be off by ~150 ms).
    expect(Math.abs(error)).toBeLessThan(75);
  });

  it('without a precise reading at start it has no estimate, and reads again soon until it has one', async () => {
    const db = database(0, [60, 60, 60]);
    const clock = await startDatabaseClock({ read: db.read, onError: () => undefined, maxRoundTripMs: 50, retryMs: 20 });
    expect(clock.now()).toBeUndefined();
    await expect.poll(() => clock.now(), { timeout: 5_000, interval: 10 }).toBeDefined();
    expect(db.readings()).toBeGreaterThanOrEqual(6);
    clock.stop();
  });

  it('a failed reading is reported and leaves the estimate unknown, then it reads again', async () => {
    const errors: string[] = [];
    let fail = true;
    const clock = await startDatabaseClock({
      read: async () => { if (fail) throw new Error('connection refused'); return Date.now(); },
      onError: (err) => errors.push(err.message), retryMs: 20,
    });
    expect([clock.now(), errors]).toEqual([undefined, ['connection refused']]);
    fail = false;
    await expect.poll(() => clock.now(), { timeout: 5_000, interval: 10 }).toBeDefined();
    clock.stop();
  });

  it('once known, reads again only every checkMs; stop ends the readings', async () => {
    const db = database(0, []);
    const clock = await startDatabaseClock({ read: db.read, onError: () => undefined, retryMs: 5, checkMs: 60_000 });
    await sleep(50);
    expect(db.readings()).toBe(3);
    clock.stop();
  });
});
