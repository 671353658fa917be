import { describe, expect, it } from 'vitest';
import { createGroupWriter } from './group-writer.js';

const later = () => new Promise((r) => setTimeout(r, 5));

describe('group writer', () => {
  it('writes at once when idle, groups what arrives while writes run, and gives each caller its own results', async () => {
    const writes: number[][] = [];
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxBatch: 100, write: async (xs) => (writes.push(xs), await later(), xs.map((x) => x * 10)) });
    const first = w.push([1]);
    const rest = [w.push([2, 3]), w.push([4]), w.push([5])];
    expect(await first).toEqual([10]);
    expect(await Promise.all(rest)).toEqual([[20, 30], [40], [50]]);
    expect(writes).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('a failed group is retried push by push: the bad input fails alone', async () => {
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxBatch: 100, write: async (xs) => {
      await later();
      if (xs.includes(13)) throw new Error('bad row');
      return xs;
    } });
    const blocker = w.push([0]);
    const results = await Promise.allSettled([w.push([1]), w.push([13]), w.push([2])]);
    await blocker;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('never puts more than maxBatch items in one write (a larger push goes alone)', async () => {
    const sizes: number[] = [];
    const w = createGroupWriter<number, number>({ maxInFlight: 1, maxBatch: 3, write: async (xs) => (sizes.push(xs.length), await later(), xs) });
    await Promise.all([w.push([1]), w.push([1, 2]), w.push([1, 2]), w.push([1, 2, 3, 4]), w.push([1])]);
    expect(sizes).toEqual([1, 2, 2, 4, 1]);
  });
});
