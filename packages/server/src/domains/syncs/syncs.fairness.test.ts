import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, signup } from '../../test-support/accounts.js';
import { adminQuery, oauthHarness } from '../../test-support/oauth.js';
import { shopifyStore } from '../../test-support/syncs.js';
import type { RunRequest } from './run.js';
import type { Fairness } from './schedules.repo.js';

/**
 * Fairness across tenants: a big tenant's backlog of due syncs must not starve a small tenant.
 * One worker takes queued runs first in, first out (the worst case for the small tenant); after
 * each run ends the scheduler ticks again, as the job handler does. On a database of this file's
 * own: the scheduler claims across every tenant in it.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
}, 60_000);
afterAll(() => h.close());

/** A Shopify store has three syncs (orders, products, inventory levels), each its own scheduled run. */
const SYNCS_PER_STORE = 3;
/** The big tenant's stores, and its backlog of due runs when the small tenant's become due. */
const BIG = 10;
const BACKLOG = BIG * SYNCS_PER_STORE;

/**
 * The big tenant's connections (every sync of each) are all due and claimed first; then the
 * small tenant's one connection becomes due (its three syncs). Returns the order in which the
 * worker started runs.
 */
async function scenario(fairness: Fairness, execute: boolean, prioritize = true) {
  const big = await signup(h.t.app);
  await adminQuery(h.scratch!.adminUrl, 'update tenants set max_connections = 1000 where id = $1', [big.tenantId]);
  for (let i = 0; i < BIG; i++) await shopifyStore(h, big, 120, `store-${i}`);
  // Like pg-boss: higher priority first, then first in, first out.
  const fifo: Array<RunRequest & { priority: number }> = [];
  h.t.services.syncs.useQueue(async (req, o) => {
    const priority = prioritize ? (o?.priority ?? 0) : 0;
    const at = fifo.findIndex((q) => q.priority < priority);
    fifo.splice(at === -1 ? fifo.length : at, 0, { ...req, priority });
  });
  const mineOf = (acct: Account) => (req: RunRequest) => req.tenantId === acct.tenantId;
  await h.t.services.syncs.tick(fairness);
  expect(fifo.every(mineOf(big))).toBe(true);
  const small = await signup(h.t.app);
  await shopifyStore(h, small);
  const started: Array<'big' | 'small'> = [];
  for (let req = fifo.shift(); req; req = fifo.shift()) {
    started.push(req.tenantId === small.tenantId ? 'small' : 'big');
    const { priority: _, ...run } = req;
    if (execute) expect(await h.t.services.syncs.run(run)).toMatchObject({ status: 'succeeded' });
    await h.t.services.syncs.release(req);
    await h.t.services.syncs.tick(fairness);
  }
  return { started, big, small };
}

const startsOf = (acct: Account) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').select(['id', 'trigger']).orderBy('id').execute());

describe('sync scheduler fairness', () => {
  it('without caps and priorities (the control): the small tenant waits behind the big tenant’s whole backlog', async () => {
    const { started } = await scenario({ perTenant: 10_000, maxInFlight: 10_000, limit: 10_000 }, false, false);
    expect(started).toHaveLength(BACKLOG + SYNCS_PER_STORE);
    expect(started.indexOf('small')).toBe(BACKLOG);
  });

  it('with caps but no priorities: the small tenant waits behind at most the big tenant’s share in flight', async () => {
    const fairness: Fairness = { perTenant: 5, maxInFlight: 5, limit: 500 };
    const { started } = await scenario(fairness, false, false);
    // Ahead of it: the big tenant's runs in flight when it became due and the one claimed with it (due earlier).
    expect(started.indexOf('small')).toBeLessThanOrEqual(fairness.maxInFlight + 1);
  });

  it("with caps and priorities: the small tenant's run starts before the big tenant's backlog drains (next, ahead of the big tenant's queued runs)", async () => {
    const fairness: Fairness = { perTenant: 5, maxInFlight: 5, limit: 500 };
    const { started, big, small } = await scenario(fairness, true);
    expect(started).toHaveLength(BACKLOG + SYNCS_PER_STORE);
    // Its first run became due after the first claim; claimed at the next tick with nothing of its tenant in
    // flight, it is queued ahead of the big tenant's runs and starts right after the run in progress.
    expect(started.indexOf('small')).toBe(1);
    // The runs themselves (ids are UUIDv7 from real time; the test's clock stands still): the small
    // tenant's first started while most of the big tenant's had not.
    const [smallRun, ...smallRest] = await startsOf(small);
    const bigRuns = await startsOf(big);
    expect(smallRun!.trigger).toBe('schedule');
    expect(smallRest).toHaveLength(SYNCS_PER_STORE - 1);
    expect(bigRuns).toHaveLength(BACKLOG);
    expect(bigRuns.filter((r) => r.id > smallRun!.id).length).toBe(BACKLOG - 1);
  }, 60_000);
});
