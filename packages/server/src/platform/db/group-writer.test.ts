import { describe, expect, it } from 'vitest';
import { createGroupWriter } from './group-writer.js';

const later = () => new Promise((r) => setTimeout(r, 5));

describe('group writer', () => {
  it('writes at once when idle, groups what arrives while writes run, and gives each caller its own results', async () => {
    const writes: number[][] = [];
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxWeight: 100, write: async (xs) => (writes.push(xs), await later(), xs.map((x) => x * 10)) });
    const first = w.push([1]);
    const rest = [w.push([2, 3]), w.push([4]), w.push([5])];
    expect(await first).toEqual([10]);
    expect(await Promise.all(rest)).toEqual([[20, 30], [40], [50]]);
    expect(writes).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('a failed group is retried push by push: the bad input fails alone', async () => {
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxWeight: 100, write: async (xs) => {
      await later();
      if (xs.includes(13)) throw new Error('bad row');
      return xs;
    } });
    const blocker = w.push([0]);
    const results = await Promise.allSettled([w.push([1]), w.push([13]), w.push([2])]);
    await blocker;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('the retries of a failed group run one at a time, within the writer\'s limit', async () => {
    let running = 0;
    let most = 0;
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxWeight: 100, write: async (xs) => {
      most = Math.max(most, ++running);
      await later();
      running--;
      if (xs.length > 1) throw new Error('database hiccup');
      return xs;
    } });
    const blocker = w.push([0]);
    await Promise.all([blocker, ...Array.from({ length: 10 }, (_, i) => w.push([i]))]);
    expect(most).toBe(1);
  });

  it('weighs items by the given weight (bytes, say)', async () => {
    const sizes: number[] = [];
    const w = createGroupWriter<string, string>({ maxInFlight: 1, maxWeight: 10, weight: (s) => s.length, write: async (xs) => (sizes.push(xs.length), await later(), xs) });
    await Promise.all(['a', 'bbbb', 'cccc', 'dddd', 'eeeeeeeeeeee', 'f'].map((x) => w.push([x])));
    expect(sizes).toEqual([1, 2, 1, 1, 1]);
  });

  it('never puts more than maxWeight in one write (a larger push goes alone)', async () => {
    const sizes: number[] = [];
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxWeight: 3, write: async (xs) => (sizes.push(xs.length), await later(), xs) });
    await Promise.all([w.push([1]), w.push([1, 2]), w.push([1, 2]), w.push([1, 2, 3, 4]), w.push([1])]);
    expect(sizes).toEqual([1, 2, 2, 4, 1]);
  });
});

describe('group writer: another write only after the running one took moreAfterMs', () => {
  it('quick writes go one at a time (larger groups); a write running past moreAfterMs lets the next start beside it', async () => {
    const starts: Array<{ items: number[]; at: number }> = [];
    const t0 = performance.now();
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => { release = r; });
    const w = createGroupWriter<number, number>({ maxInFlight: 2, maxWeight: 100, moreAfterMs: 40, write: async (xs) => {
      starts.push({ items: xs, at: performance.now() - t0 });
      if (xs.includes(0)) await slow;
      return xs;
    } });
    const stuck = w.push([0]);
    const next = [w.push([1]), w.push([2])];
    await later();
    // The first write has run ~5 ms: the others wait for it rather than starting a second write.
    expect(starts.map((s) => s.items)).toEqual([[0]]);
    expect(await Promise.all(next)).toEqual([[1], [2]]);
    // They went together, once the first had run 40 ms, while it was still running.
    expect(starts.map((s) => s.items)).toEqual([[0], [1, 2]]);
    expect(starts[1]!.at).toBeGreaterThanOrEqual(39);
    release();
    expect(await stuck).toEqual([0]);
  });

  it('while one write stalls, the next starts at once once the second lane is free (counted from the running write, not the last one)', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => { release = r; });
    const starts: Array<{ items: number[]; at: number }> = [];
    const w = createGroupWriter<number, number>({ maxInFlight: 2, maxWeight: 100, moreAfterMs: 40, write: async (xs) => {
      starts.push({ items: xs, at: performance.now() });
      if (xs.includes(0)) await slow;
      return xs;
    } });
    const stuck = w.push([0]);
    await w.push([1]); // waits ~40 ms, then goes beside the stalled write and is done at once
    const third = w.push([2]);
    // Started within the push itself: the running write has run past moreAfterMs. (Counted from
    // the last write started, it would wait for a timer.)
    expect(starts.map((s) => s.items)).toEqual([[0], [1], [2]]);
    await third;
    release();
    await stuck;
  });

  it('without the option, writes start beside each other at once, up to maxInFlight', async () => {
    const starts: number[][] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => { release = r; });
    const w = createGroupWriter<number, number>({ maxInFlight: 2, maxWeight: 100, write: async (xs) => (starts.push(xs), await slow, xs) });
    const all = [w.push([1]), w.push([2]), w.push([3])];
    await later();
    expect(starts).toEqual([[1], [2]]);
    release();
    await Promise.all(all);
    expect(starts).toEqual([[1], [2], [3]]);
  });
});

describe('group writer: the next write goes out before the callers of the last one continue', () => {
  it('a write that takes a few promise steps to reach the database is submitted before the finished write\'s callers resume', async () => {
    const events: string[] = [];
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxWeight: 100, write: async (xs) => {
      for (let i = 0; i < 5; i++) await null; // a driver's steps before the query is sent
      events.push(`submit ${xs.join(',')}`);
      await later();
      return xs;
    } });
    const first = w.push([1]).then(() => events.push('caller of 1 resumes'));
    const second = w.push([2]).then(() => events.push('caller of 2 resumes'));
    await Promise.all([first, second]);
    expect(events).toEqual(['submit 1', 'submit 2', 'caller of 1 resumes', 'caller of 2 resumes']);
  });
});
