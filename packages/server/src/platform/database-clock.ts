/**
 * The database's clock as seen from this node: the best of three readings (the shortest round
 * trip; its middle taken as the reading's moment), carried forward by the node's monotonic clock,
 * so a step of the node's wall clock does not move it. A reading whose round trip took longer than
 * `maxRoundTripMs` is not used (its error is at most half that). Read at start, then every
 * `checkMs`; while no reading was precise enough (a node started under load), again every
 * `retryMs`, so the estimate is not missing for long. `now()` is undefined until then.
 */
export async function startDatabaseClock(opts: {
  /** One reading: the database's `clock_timestamp()` in epoch milliseconds. */
  read: () => Promise<number>;
  onError: (err: Error) => void;
  maxRoundTripMs?: number;
  checkMs?: number;
  retryMs?: number;
}) {
  const maxRoundTripMs = opts.maxRoundTripMs ?? 200;
  let anchor: { db: number; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const readBest = async () => {
    let best: { db: number; at: number; roundTrip: number } | undefined;
    try {
      for (let i = 0; i < 3; i++) {
        const before = performance.now();
        const db = await opts.read();
        const after = performance.now();
        if (!best || after - before < best.roundTrip) best = { db, at: (before + after) / 2, roundTrip: after - before };
      }
    } catch (err) {
      opts.onError(err as Error);
    }
    if (best && best.roundTrip <= maxRoundTripMs) anchor = { db: best.db, at: best.at };
  };
  const readAndSchedule = async () => {
    await readBest();
    if (stopped) return;
    timer = setTimeout(() => void readAndSchedule(), anchor ? (opts.checkMs ?? 600_000) : (opts.retryMs ?? 2_000));
    timer.unref();
  };
  await readAndSchedule();
  return {
    now: () => (anchor ? anchor.db + (performance.now() - anchor.at) : undefined),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
