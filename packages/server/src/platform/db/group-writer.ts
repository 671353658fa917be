/**
 * Natural batching for a hot write path ("group commit"): callers push their items and get their
 * own results back; while `maxInFlight` writes are running, new pushes wait and then go together
 * in one write of at most `maxWeight` (by `weight`, one per item by default; a heavier push goes
 * alone). An idle system writes each push at once (no added latency); a busy one writes fewer,
 * larger transactions. A failed write of several pushes is retried push by push, one at a time
 * in the same slot, so one bad input fails alone and a failing database is not hit harder.
 *
 * `moreAfterMs`: a write starts beside running ones only once the newest of them has run that
 * long. Under load writes then go one at a time, in the largest groups, as long as each is quick;
 * a write that stalls (a lock, a slow flush) holds the others up for that long at most.
 */
export function createGroupWriter<I, O>(opts: { write: (items: I[]) => Promise<O[]>; maxInFlight: number; maxWeight: number; weight?: (item: I) => number; moreAfterMs?: number }) {
  type Waiting = { items: I[]; weight: number; resolve: (out: O[]) => void; reject: (err: unknown) => void };
  const queue: Waiting[] = [];
  // The running writes, by when each started (at most maxInFlight of them).
  const running = new Set<{ at: number }>();
  let recheck: NodeJS.Timeout | undefined;
  const weigh = opts.weight ?? (() => 1);

  async function run(batch: Waiting[]) {
    const started = { at: performance.now() };
    running.add(started);
    let settle = () => undefined as void;
    try {
      const out = await opts.write(batch.flatMap((w) => w.items));
      settle = () => {
        let at = 0;
        for (const w of batch) {
          w.resolve(out.slice(at, at + w.items.length));
          at += w.items.length;
        }
      };
    } catch (err) {
      if (batch.length === 1) settle = () => batch[0]!.reject(err);
      else {
        for (const w of batch) await opts.write(w.items).then(w.resolve, w.reject);
      }
    } finally {
      running.delete(started);
      flush();
    }
    // The next write reaches the database before these callers go on: their continuations (an
    // HTTP reply each) would otherwise run first and leave the database idle meanwhile. Every
    // promise step of that write runs before an immediate callback does.
    setImmediate(settle);
  }

  /** Whether another write may start now (and if not for a while, a flush is set for then). */
  function mayStart() {
    if (running.size >= opts.maxInFlight) return false;
    if (running.size === 0 || !opts.moreAfterMs) return true;
    const newest = Math.max(...[...running].map((r) => r.at));
    const wait = newest + opts.moreAfterMs - performance.now();
    if (wait <= 0) return true;
    recheck ??= setTimeout(() => {
      recheck = undefined;
      flush();
    }, Math.ceil(wait));
    return false;
  }

  function flush() {
    while (queue.length > 0 && mayStart()) {
      const batch: Waiting[] = [];
      let weight = 0;
      while (queue.length > 0 && (batch.length === 0 || weight + queue[0]!.weight <= opts.maxWeight)) {
        const next = queue.shift()!;
        weight += next.weight;
        batch.push(next);
      }
      void run(batch);
    }
  }

  return {
    push(items: I[]): Promise<O[]> {
      if (items.length === 0) return Promise.resolve([]);
      return new Promise<O[]>((resolve, reject) => {
        queue.push({ items, weight: items.reduce((n, i) => n + weigh(i), 0), resolve, reject });
        flush();
      });
    },
  };
}
