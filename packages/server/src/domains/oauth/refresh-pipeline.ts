/** A unit of claimed work: one tenant's share of a batch, all under the batch's lease. */
export type WriteKey = { tenantId: string; lease: string };

export type RefreshPipeline<G extends WriteKey, T extends WriteKey, A> = {
  /** Provider calls in flight at all times (while there is work). */
  concurrency: number;
  /** Answers written by one statement at most; a crash loses at most this many per tenant. */
  writeWidth: number;
  /**
   * An answer waits at most this long for others of its tenant before it is written (default 1 s):
   * its lease runs on meanwhile, and the tenant's other items may still be queued behind others.
   */
  maxHoldMs?: number;
  /** The next claimed batch, by tenant; empty when nothing is left. */
  claim: () => Promise<G[]>;
  /** A group's items, read in its tenant's context (never throws: failures are counted by the caller). */
  read: (group: G) => Promise<T[]>;
  /** One provider call; null when there is nothing to write. Never throws. */
  call: (item: T) => Promise<A | null>;
  /** Writes answers of one tenant and lease in one statement. Never throws. */
  write: (key: WriteKey, answers: A[]) => Promise<void>;
};

/** Tenants whose rows a claim's reads fetch at once. */
const READS_AT_ONCE = 4;

type Writer = { key: WriteKey; pending: unknown[]; outstanding: number; running: Promise<void> | null; hold: NodeJS.Timeout | null };

/**
 * Runs claimed refreshes as a pipeline instead of batch after batch: `concurrency` provider
 * calls stay in flight, the next batch is claimed and read while fewer than that many items are
 * queued, and each tenant's answers are written `writeWidth` at a time, or as soon as none of
 * its claimed items is still waiting for an answer. A slow answer holds up no other call and
 * no other tenant's write, and there are as few write transactions as the crash bound allows.
 */
export async function runRefreshPipeline<G extends WriteKey, T extends WriteKey, A>(p: RefreshPipeline<G, T, A>): Promise<void> {
  const queue: T[] = [];
  const writers = new Map<string, Writer>();
  const writes = new Set<Promise<void>>();
  let exhausted = false;
  let loading: Promise<void> | null = null;
  let failure: unknown;
  const keyOf = (k: WriteKey) => `${k.tenantId}/${k.lease}`;

  async function load() {
    const groups = await p.claim();
    if (groups.length === 0) {
      exhausted = true;
      return;
    }
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, groups.length) }, async () => {
      while (next < groups.length) {
        const items = await p.read(groups[next++]!);
        if (items.length === 0) continue;
        const w = writerOf(items[0]!);
        w.outstanding += items.length;
        queue.push(...items);
      }
    }));
  }

  const refill = () => {
    loading ??= load().catch((err: unknown) => {
      failure ??= err;
      exhausted = true;
    }).finally(() => {
      loading = null;
    });
    return loading;
  };

  async function next(): Promise<T | undefined> {
    if (queue.length < p.concurrency && !exhausted) void refill();
    while (queue.length === 0 && !exhausted) await refill();
    return queue.shift();
  }

  function writerOf(k: WriteKey): Writer {
    let w = writers.get(keyOf(k));
    if (!w) {
      w = { key: { tenantId: k.tenantId, lease: k.lease }, pending: [], outstanding: 0, running: null, hold: null };
      writers.set(keyOf(k), w);
    }
    return w;
  }

  /**
   * Starts a write when a full statement's worth is pending, nothing more is coming, or the oldest
   * pending answer has waited `maxHoldMs`; one write per tenant at a time.
   */
  function maybeWrite(w: Writer, held = false) {
    if (w.running) return;
    if (w.pending.length === 0) {
      if (w.outstanding === 0) writers.delete(keyOf(w.key));
      return;
    }
    if (w.pending.length < p.writeWidth && w.outstanding > 0 && !held) {
      w.hold ??= setTimeout(() => {
        w.hold = null;
        maybeWrite(w, true);
      }, p.maxHoldMs ?? 1_000);
      return;
    }
    if (w.hold) clearTimeout(w.hold);
    w.hold = null;
    const answers = w.pending.splice(0, p.writeWidth) as A[];
    const run = p.write(w.key, answers).finally(() => {
      w.running = null;
      writes.delete(run);
      maybeWrite(w);
    });
    w.running = run;
    writes.add(run);
  }

  async function slot() {
    for (let item = await next(); item; item = await next()) {
      // `call` handles its own failures; should one escape, this item is done all the same.
      const answer = await p.call(item).catch(() => null);
      const w = writerOf(item);
      w.outstanding--;
      if (answer !== null) w.pending.push(answer);
      maybeWrite(w);
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, p.concurrency) }, slot));
  while (loading || writes.size) await Promise.all([loading, ...writes]);
  if (failure !== undefined) throw failure;
}
