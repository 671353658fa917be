import { randomUUID } from 'node:crypto';
import type { KeyholdEvent } from '@keyhold/contract';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsRoleUrl } from '../../platform/config.js';
import { type JobRunner, startJobRunner } from '../../platform/jobs.js';
import { silentLogger } from '../../test-support/index.js';
import { type Account, bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { adminQuery, oauthHarness } from '../../test-support/oauth.js';
import { adapterFor } from '../../providers/registry.js';
import { shopifyStore } from '../../test-support/syncs.js';
import type { RunRequest } from './run.js';
import { DEFAULT_FAIRNESS } from './schedules.js';
import { registerSyncJobs } from './syncs.jobs.js';

/**
 * The scheduler's share of the queue (run-all and change notices included), Keyhold's pause
 * following the connection's row, the claim function's distrust of its caller, in-flight slots
 * across retries and stale jobs, and what a paused schedule or a disabled connection does to a
 * run. On a database of this file's own: the scheduler claims across every tenant in it.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
/** Like pg-boss (syncs.jobs.ts): higher priority first, then first in, first out; a person's single run comes first. */
const fifo: Array<RunRequest & { priority: number }> = [];
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
  h.t.services.syncs.useQueue(async (req, o) => {
    const priority = o?.priority ?? (req.trigger === 'manual' || req.trigger === 'reset' ? DEFAULT_FAIRNESS.maxInFlight + 1 : 0);
    const at = fifo.findIndex((q) => q.priority < priority);
    fifo.splice(at === -1 ? fifo.length : at, 0, { ...req, priority });
  });
}, 60_000);
afterAll(() => h.close());

const svc = () => h.t.services.syncs;
const keyOf = async (acct: Account) => (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run', 'records:read'] })).key;
const scheduleOf = async (acct: Account, connectionId: string, sync = 'orders') =>
  (await h.t.db.withTenant(acct.tenantId, (tx) =>
    tx.selectFrom('sync_schedules').selectAll().where('connection_id', '=', connectionId).where('sync', '=', sync).executeTakeFirstOrThrow()));
/** Drains the harness queue without running anything (each run ends at once, as the job handler would release it). */
async function drainQueue() {
  for (let req = fifo.shift(); req; req = fifo.shift()) {
    await svc().release(req);
  }
}
const event = (connectionId: string, type: KeyholdEvent['type'], payload: Record<string, unknown>): KeyholdEvent =>
  ({ id: randomUUID(), type, subject: { connectionId, provider: 'shopify', label: 'default' }, payload, createdAt: new Date().toISOString() }) as KeyholdEvent;
/** Applies events the way a drain does, in the tenant's transaction (queueing after it). */
async function applyEvents(acct: Account, events: KeyholdEvent[]) {
  const after: Array<() => void> = [];
  await h.t.db.withTenant(acct.tenantId, (tx) => svc().onEvents(tx as never, events, (fn) => { after.push(fn); }));
  for (const fn of after) fn();
}

describe('run-all and change notices share the queue fairly', () => {
  it("a big tenant's run-all does not starve a small tenant's scheduled run (it starts within the first maxInFlight + 1 runs)", async () => {
    const BIG = 20;
    const big = await signup(h.t.app);
    await adminQuery(h.scratch!.adminUrl, 'update tenants set max_connections = 1000 where id = $1', [big.tenantId]);
    for (let i = 0; i < BIG; i++) await shopifyStore(h, big, 120, `store-${i}`);
    const res = await h.t.app.inject({ method: 'POST', url: '/api/syncs/run-all', headers: bearer(await keyOf(big)) });
    expect(res.statusCode).toBe(202);
    const schedules = await h.t.db.withTenant(big.tenantId, (tx) => tx.selectFrom('sync_schedules').select('sync').execute());
    const syncsPerStore = schedules.length / BIG;
    expect(syncsPerStore).toBeGreaterThanOrEqual(1);
    expect(res.json().data).toEqual({ queued: schedules.length });

    const small = await signup(h.t.app);
    await shopifyStore(h, small);
    const started: Array<{ who: 'big' | 'small'; trigger: string }> = [];
    for (let req = fifo.shift(); req; req = fifo.shift()) {
      started.push({ who: req.tenantId === small.tenantId ? 'small' : 'big', trigger: req.trigger });
      await svc().release(req);
      await svc().tick();
    }
    // Ahead of it at most the big tenant's runs in flight when it became due and the one claimed with it.
    expect(started.findIndex((s) => s.who === 'small')).toBeLessThanOrEqual(DEFAULT_FAIRNESS.maxInFlight + 1);
    // Each of the big tenant's syncs ran once, recorded as the run-all's (`manual`).
    expect(started.filter((s) => s.who === 'big')).toHaveLength(BIG * syncsPerStore);
    expect(new Set(started.filter((s) => s.who === 'big').map((s) => s.trigger))).toEqual(new Set(['manual']));
  }, 120_000);

  it("a change notice's run is queued with a priority from its tenant's runs in flight, below a person's single run", async () => {
    const acct = await signup(h.t.app);
    const stores = [await shopifyStore(h, acct, 120, 'a'), await shopifyStore(h, acct, 120, 'b'), await shopifyStore(h, acct, 120, 'c')];
    await svc().tick();
    const inFlight = fifo.filter((q) => q.tenantId === acct.tenantId).length;
    expect(inFlight).toBe(stores.length * 3);
    fifo.length = 0;
    await applyEvents(acct, [event(stores[0]!.connectionId, 'connection.changed', {})]);
    const notices = fifo.filter((q) => q.trigger === 'webhook');
    expect(notices.length).toBeGreaterThan(0);
    for (const n of notices) expect(n.priority).toBeLessThanOrEqual(Math.max(0, DEFAULT_FAIRNESS.maxInFlight - inFlight));
    fifo.length = 0;
    // A tenant with nothing in flight: its notices come first among claimed runs, still below a person's run.
    const quiet = await signup(h.t.app);
    const q = await shopifyStore(h, quiet);
    await applyEvents(quiet, [event(q.connectionId, 'connection.changed', {})]);
    const quietNotices = fifo.filter((r) => r.tenantId === quiet.tenantId);
    expect(quietNotices.length).toBeGreaterThan(0);
    expect(Math.max(...quietNotices.map((r) => r.priority))).toBe(DEFAULT_FAIRNESS.maxInFlight);
    fifo.length = 0;
  });

  it('a batch of change notices (a webhook per order) queues one run of each sync per connection, not one per notice', async () => {
    const acct = await signup(h.t.app);
    const busy = await shopifyStore(h, acct, 120, 'busy');
    const other = await shopifyStore(h, acct, 120, 'other');
    fifo.length = 0;
    const notices = [...Array.from({ length: 25 }, () => event(busy.connectionId, 'connection.changed', {})), event(other.connectionId, 'connection.changed', {})];
    await applyEvents(acct, notices);
    const queued = fifo.filter((q) => q.trigger === 'webhook').map((q) => `${q.connectionId}:${q.sync}`);
    const incremental = Object.values(adapterFor({ id: 'shopify' }).syncs ?? {}).filter((d) => d.incremental).length;
    expect(incremental).toBeGreaterThan(0);
    expect(queued).toHaveLength(2 * incremental);
    expect(new Set(queued).size).toBe(queued.length);
    fifo.length = 0;
  });
});

describe('the job queue serves priorities', () => {
  it('real pg-boss: of two queued jobs, the one with the higher priority is fetched first', async () => {
    const jobs = await startJobRunner({ url: jobsRoleUrl(h.scratch!.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
    try {
      const name = `syncs.priority-${randomUUID().slice(0, 8)}`;
      await jobs.send(name, { which: 'low' }, { priority: 1 });
      await jobs.send(name, { which: 'high' }, { priority: DEFAULT_FAIRNESS.maxInFlight + 1 });
      const seen: string[] = [];
      await jobs.handle<{ which: string }>(name, async (data) => { seen.push(data.which); });
      const end = Date.now() + 15_000;
      while (seen.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual(['high', 'low']);
    } finally {
      await jobs.stop();
    }
  }, 30_000);
});

describe("Keyhold's pause follows the connection's row", () => {
  it('an older needs_reauth event applied after the newer resume leaves an active connection claimable', async () => {
    await drainQueue();
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    // The connection is active; its resume was applied, then the older pause (two drains racing).
    await applyEvents(acct, [event(connectionId, 'connection.recovered', { from: 'needs_reauth', to: 'active' })]);
    await applyEvents(acct, [event(connectionId, 'connection.needs_reauth', { from: 'active', to: 'needs_reauth' })]);
    expect((await scheduleOf(acct, connectionId)).paused_reason).toBeNull();
    await svc().tick();
    expect(fifo.filter((q) => q.connectionId === connectionId && q.sync === 'orders')).toHaveLength(1);
    await drainQueue();
  });
});

describe('the claim function does not trust its caller', () => {
  it("as the app role: a slot held until 'infinity' is clamped to 2 hours; a p_now far from the database's clock is refused", async () => {
    await drainQueue();
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    await h.t.app.inject({ method: 'GET', url: '/api/syncs', headers: bearer(acct.accessToken) }); // its schedules exist
    const { rows } = await sql<{ connection_id: string }>`
      select connection_id from keyhold_claim_due_syncs(now(), 'infinity', 100, 100, 1000)`.execute(h.t.db.kysely);
    expect(rows.filter((r) => r.connection_id === connectionId).length).toBeGreaterThan(0);
    const stored = await scheduleOf(acct, connectionId);
    expect(new Date(stored.in_flight_until!).getTime()).toBeLessThanOrEqual(Date.now() + 2 * 3_600_000 + 60_000);
    for (const p of ["'infinity'", "'-infinity'", "now() + interval '2 days'", "now() - interval '2 days'"]) {
      await expect(sql`select * from keyhold_claim_due_syncs((${sql.raw(p)})::timestamptz, now(), 10, 10, 10)`.execute(h.t.db.kysely), p).rejects.toThrow(/within a day/);
    }
    // Release what this test claimed (its slots are not the harness's).
    await adminQuery(h.scratch!.adminUrl, 'update sync_schedules set in_flight_until = null, in_flight_claim = null');
  });
});

/** The job handler of syncs.jobs.ts, with `run` played by the test; release and renew are the real ones. */
async function handlerWith(run: (req: RunRequest) => Promise<never | Awaited<ReturnType<ReturnType<typeof svc>['run']>>>) {
  let handler: ((data: RunRequest, job: { attempt: number; lastAttempt: boolean }) => Promise<unknown>) | undefined;
  const jobs = { handle: async (_: string, fn: typeof handler) => { handler = fn; }, send: async () => null, every: async () => undefined } as unknown as JobRunner;
  await registerSyncJobs(jobs, { run, useQueue: () => undefined, release: svc().release, renew: svc().renew });
  return handler!;
}

describe('in-flight slots', () => {
  async function claimedOrders() {
    await drainQueue();
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    await svc().tick();
    const req = fifo.find((q) => q.connectionId === connectionId && q.sync === 'orders')!;
    fifo.length = 0;
    return { acct, connectionId, req };
  }

  it('a run that throws keeps its slot while pg-boss retries it; the last attempt frees it', async () => {
    const { acct, connectionId, req } = await claimedOrders();
    const handler = await handlerWith(async () => { throw new Error('the reader crashed'); });
    await expect(handler(req, { attempt: 1, lastAttempt: false })).rejects.toThrow('the reader crashed');
    expect((await scheduleOf(acct, connectionId)).in_flight_until).not.toBeNull();
    await expect(handler(req, { attempt: 6, lastAttempt: true })).rejects.toThrow('the reader crashed');
    expect((await scheduleOf(acct, connectionId)).in_flight_until).toBeNull();
  });

  it('a burst: every claimed run of a tenant throws at once and ticks race; the tenant never has more than maxInFlight claimed', async () => {
    await drainQueue();
    const acct = await signup(h.t.app);
    await adminQuery(h.scratch!.adminUrl, 'update tenants set max_connections = 1000 where id = $1', [acct.tenantId]);
    for (let i = 0; i < 6; i++) await shopifyStore(h, acct, 120, `burst-${i}`);
    await svc().tick();
    const claimed = fifo.filter((q) => q.tenantId === acct.tenantId);
    fifo.length = 0;
    expect(claimed).toHaveLength(DEFAULT_FAIRNESS.maxInFlight);
    const handler = await handlerWith(async () => { throw new Error('the provider reset the connection'); });
    await Promise.all(claimed.map((req) => handler(req, { attempt: 1, lastAttempt: false }).catch(() => undefined)));
    // The same moment: more ticks (other nodes) while the failed runs wait for their retries.
    await Promise.all(Array.from({ length: 4 }, () => svc().tick(undefined, { ensure: false })));
    await svc().tick(undefined, { ensure: false });
    expect(fifo.filter((q) => q.tenantId === acct.tenantId)).toEqual([]);
    const inFlight = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_schedules').select('connection_id').where('in_flight_until', 'is not', null).execute());
    expect(inFlight).toHaveLength(DEFAULT_FAIRNESS.maxInFlight);
    for (const req of claimed) await svc().release(req);
  });

  it("a stale job's release does not free the slot of a newer claim of the same schedule", async () => {
    const { acct, connectionId, req: stale } = await claimedOrders();
    // The stale job's slot ran out and the schedule was claimed again.
    h.t.clock.advance(2 * 3_600_000 + 60_000);
    await svc().tick();
    const fresh = fifo.find((q) => q.connectionId === connectionId && q.sync === 'orders');
    expect(fresh).toBeDefined();
    await svc().release(stale);
    expect((await scheduleOf(acct, connectionId)).in_flight_until).not.toBeNull();
    await svc().release(fresh!);
    expect((await scheduleOf(acct, connectionId)).in_flight_until).toBeNull();
    await drainQueue();
  });

  it('each attempt holds the slot again from its start (a retry long after the claim still counts in flight)', async () => {
    const { acct, connectionId, req } = await claimedOrders();
    h.t.clock.advance(50 * 60_000);
    let during: Date | null = null;
    const handler = await handlerWith(async () => {
      during = (await scheduleOf(acct, connectionId)).in_flight_until;
      throw new Error('the provider hung up');
    });
    await expect(handler(req, { attempt: 2, lastAttempt: false })).rejects.toThrow();
    expect(during!.getTime()).toBeGreaterThanOrEqual(h.t.clock().getTime() + 59 * 60_000);
    await svc().release(req);
  });
});

describe('paused schedules and disabled connections', () => {
  it('a scheduled run (or its retry) that starts after a person paused the schedule is skipped with schedule_paused', async () => {
    await drainQueue();
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    await svc().tick();
    const req = fifo.find((q) => q.connectionId === connectionId && q.sync === 'orders')!;
    fifo.length = 0;
    const put = await h.t.app.inject({ method: 'PUT', url: `/api/syncs/${connectionId}/orders/schedule`, headers: bearer(acct.accessToken), payload: { paused: true } });
    expect(put.statusCode).toBe(200);
    expect(await svc().run({ ...req, attempt: 2 })).toMatchObject({ status: 'skipped', errorCode: 'schedule_paused', added: 0 });
    const runs = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').select(['status', 'error_code', 'attempt']).where('connection_id', '=', connectionId).execute());
    expect(runs).toEqual([{ status: 'skipped', error_code: 'schedule_paused', attempt: 2 }]);
    await svc().release(req);
  });

  it('a manual run of a disabled connection is refused with 409 INTEGRATION_DISABLED, nothing queued', async () => {
    await drainQueue();
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    const off = await h.t.app.inject({ method: 'PUT', url: `/api/api-credentials/${connectionId}`, headers: bearer(acct.accessToken), payload: { isActive: false } });
    expect(off.statusCode).toBe(200);
    const res = await h.t.app.inject({ method: 'POST', url: `/api/syncs/${connectionId}/orders/run`, headers: bearer(await keyOf(acct)) });
    expect([res.statusCode, res.json().code]).toEqual([409, 'INTEGRATION_DISABLED']);
    expect(fifo.filter((q) => q.connectionId === connectionId)).toEqual([]);
  });
});

describe('scale', () => {
  it("a connection event adds and updates the schedules of that connection only, not every connection of the tenant's provider", async () => {
    const acct = await signup(h.t.app);
    const a = await shopifyStore(h, acct, 120, 'a');
    const b = await shopifyStore(h, acct, 120, 'b');
    await adminQuery(h.scratch!.adminUrl, 'delete from sync_schedules where tenant_id = $1', [acct.tenantId]);
    await applyEvents(acct, [event(a.connectionId, 'connection.needs_reauth', { from: 'active', to: 'needs_reauth' })]);
    const rows = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_schedules').select('connection_id').execute());
    expect(new Set(rows.map((r) => r.connection_id))).toEqual(new Set([a.connectionId]));
    expect(rows.some((r) => r.connection_id === b.connectionId)).toBe(false);
  });

  it('GET /api/syncs is paginated (page, limit ≤ 500)', async () => {
    const acct = await signup(h.t.app);
    await shopifyStore(h, acct, 120, 'a');
    await shopifyStore(h, acct, 120, 'b');
    const get = (q: string) => h.t.app.inject({ method: 'GET', url: `/api/syncs${q}`, headers: bearer(acct.accessToken) });
    const all = (await get('')).json();
    const total = all.data.length as number;
    expect(total).toBeGreaterThanOrEqual(2);
    expect(all.pagination).toMatchObject({ page: 1, total });
    const first = (await get('?limit=1')).json();
    expect(first.data).toHaveLength(1);
    expect(first.pagination).toMatchObject({ page: 1, limit: 1, total, hasMore: true });
    const second = (await get('?limit=1&page=2')).json();
    expect(second.data).toHaveLength(1);
    expect(second.data[0]).not.toEqual(first.data[0]);
    const bad = await get('?limit=501');
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
