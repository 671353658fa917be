import { describe, expect, it } from 'vitest';
import { createDebounceMemo } from './debounce-memo.js';

describe('debounce memo', () => {
  const slot = 30_000;
  const base = 1_700_000_010_000 - (1_700_000_010_000 % slot); // a slot's start

  it('after a send found both slots full, answers for that key until a margin before the slot ends, then asks again', () => {
    let now = base + 5_000;
    const memo = createDebounceMemo({ dbNow: () => now, marginMs: 1_000 });
    expect(memo.isFull('k')).toBe(false);
    memo.foundFull('k', 30, now);
    expect(memo.isFull('k')).toBe(true);
    expect(memo.isFull('other')).toBe(false);
    now = base + slot - 1_001;
    expect(memo.isFull('k')).toBe(true);
    now = base + slot - 1_000; // within the margin of the slot's end: the database decides again
    expect(memo.isFull('k')).toBe(false);
    now = base + slot + 5_000;
    expect(memo.isFull('k')).toBe(false);
  });

  it('a send begun within the margin after a slot started counts as the previous slot (it may have run there)', () => {
    let now = base + 500;
    const memo = createDebounceMemo({ dbNow: () => now, marginMs: 1_000 });
    memo.foundFull('k', 30, now);
    // Its slot may have been the one that ended at `base`: nothing is answered from memory.
    expect(memo.isFull('k')).toBe(false);
    now = base + 1_500;
    memo.foundFull('k', 30, now);
    expect(memo.isFull('k')).toBe(true);
  });

  it('keeps at most `max` keys (the oldest forgotten: they are asked again)', () => {
    const memo = createDebounceMemo({ dbNow: () => base + 5_000, marginMs: 1_000, max: 2 });
    for (const k of ['a', 'b', 'c']) memo.foundFull(k, 30, base + 5_000);
    expect(['a', 'b', 'c'].map((k) => memo.isFull(k))).toEqual([false, true, true]);
  });
});

describe('debounce memo without an estimate of the database clock', () => {
  it('answers nothing: every send asks the database', () => {
    let now: number | undefined;
    const memo = createDebounceMemo({ dbNow: () => now, marginMs: 1_000 });
    memo.foundFull('k', 30, undefined);
    expect(memo.isFull('k')).toBe(false);
    now = 1_700_000_005_000;
    memo.foundFull('k', 30, now);
    expect(memo.isFull('k')).toBe(true);
    now = undefined; // the estimate was lost
    expect(memo.isFull('k')).toBe(false);
  });
});
