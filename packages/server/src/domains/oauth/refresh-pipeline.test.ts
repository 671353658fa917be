import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runRefreshPipeline, type WriteKey } from './refresh-pipeline.js';

type Group = WriteKey & { ids: number[] };

/** A slow provider call: answers once `release` is called (or after 5 s, so a pipeline that waits for it still ends). */
function slowAnswer() {
  let release = () => undefined as void;
  const released = new Promise<void>((r) => { release = r; });
  return { release, wait: () => Promise.race([released, sleep(5_000)]) };
}
type Item = WriteKey & { id: number };

/** Claims `batches` in turn (then nothing), each split by tenant as the claim query returns them. */
function fakeWork(batches: Array<Array<[string, number[]]>>) {
  let n = 0;
  return {
    claim: async (): Promise<Group[]> => {
      const lease = `lease-${n}`;
      return (batches[n++] ?? []).map(([tenantId, ids]) => ({ tenantId, lease, ids }));
    },
    read: async (g: Group): Promise<Item[]> => g.ids.map((id) => ({ tenantId: g.tenantId, lease: g.lease, id })),
  };
}

describe('refresh pipeline', () => {
  it('writes an answer that waited maxHoldMs, even while its tenant still has items out (its lease runs on)', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => i);
    const writes: Array<{ at: number; answers: number[] }> = [];
    const slow = slowAnswer();
    const started = Date.now();
    await runRefreshPipeline({
      concurrency: 6,
      writeWidth: 32,
      maxHoldMs: 50,
      ...fakeWork([[['t1', ids]]]),
      call: async (item: Item) => {
        await (item.id === 0 ? slow.wait() : sleep(2));
        return item.id;
      },
      write: async (_key, answers: number[]) => {
        writes.push({ at: Date.now() - started, answers: [...answers].sort() });
        slow.release(); // the slow call answers only once something was written
      },
    });
    // Five fast answers go together once they have waited 50 ms, while the slow one is still out
    // (a pipeline waiting for the whole batch would write all six together, after 5 s).
    expect(writes[0]!.answers).toEqual([1, 2, 3, 4, 5]);
    expect(writes[0]!.at).toBeGreaterThanOrEqual(49);
    expect(writes.at(-1)!.answers).toEqual([0]);
  });

  it('keeps every slot busy while one answer is slow: the others are called and written meanwhile', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => i);
    let inFlight = 0;
    let most = 0;
    const written: number[] = [];
    let slowDone = false;
    let writtenBeforeSlow = 0;
    const slow = slowAnswer();
    await runRefreshPipeline({
      concurrency: 4,
      writeWidth: 5,
      ...fakeWork([[['t1', ids.slice(0, 20)], ['t2', ids.slice(20)]]]),
      call: async (item: Item) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await (item.id === 0 ? slow.wait() : sleep(2));
        inFlight--;
        if (item.id === 0) slowDone = true;
        return item.id;
      },
      write: async (_key, answers: number[]) => {
        if (!slowDone) writtenBeforeSlow += answers.length;
        written.push(...answers);
        // The slow call answers once t2 and t1's full writes are done (or after 5 s if they cannot be).
        if (written.length === 35) slow.release();
      },
    });
    expect(most).toBe(4);
    expect(written.sort((a, b) => a - b)).toEqual(ids);
    // All of t2 and t1's full writes (3 × 5 of its 19 other answers) before the slow call ended;
    // chunk after chunk (a barrier per `concurrency` calls) would have written 3 answers at most.
    expect(writtenBeforeSlow).toBe(35);
  });

  it('writes each tenant and lease apart, at most writeWidth answers per write, one write at a time per tenant, each answer once', async () => {
    const writes: Array<{ key: string; n: number }> = [];
    const running = new Set<string>();
    let overlapped = false;
    await runRefreshPipeline({
      concurrency: 8,
      writeWidth: 4,
      ...fakeWork([[['t1', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], ['t2', [11, 12, 13]]], [['t1', [14, 15]]]]),
      call: async (item: Item) => {
        await sleep(1 + (item.id % 3));
        return item.id === 12 ? null : item; // null: nothing to write (a failure recorded elsewhere)
      },
      write: async (key, answers: Item[]) => {
        const k = `${key.tenantId}/${key.lease}`;
        if (running.has(k)) overlapped = true;
        running.add(k);
        for (const a of answers) expect(`${a.tenantId}/${a.lease}`).toBe(k);
        await sleep(5);
        running.delete(k);
        writes.push({ key: k, n: answers.length });
      },
    });
    expect(overlapped).toBe(false);
    expect(Math.max(...writes.map((w) => w.n))).toBeLessThanOrEqual(4);
    const total = (k: string) => writes.filter((w) => w.key === k).reduce((s, w) => s + w.n, 0);
    expect([total('t1/lease-0'), total('t2/lease-0'), total('t1/lease-1')]).toEqual([10, 2, 2]);
  });

  it('a failed claim ends the run with its error, after the work already claimed is written', async () => {
    const written: number[] = [];
    let claims = 0;
    const run = runRefreshPipeline({
      concurrency: 2,
      writeWidth: 10,
      claim: async () => {
        if (claims++ === 0) return [{ tenantId: 't1', lease: 'l', ids: [1, 2, 3] }];
        throw new Error('database unavailable');
      },
      read: async (g: Group) => g.ids.map((id) => ({ tenantId: g.tenantId, lease: g.lease, id })),
      call: async (item: Item) => {
        await sleep(5);
        return item.id;
      },
      write: async (_key, answers: number[]) => {
        written.push(...answers);
      },
    });
    await expect(run).rejects.toThrow('database unavailable');
    expect(written.sort()).toEqual([1, 2, 3]);
  });
});
