import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsRoleUrl } from '../../platform/config.js';
import { type JobRunner, startJobRunner } from '../../platform/jobs.js';
import { bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { silentLogger } from '../../test-support/index.js';
import { adminQuery, oauthHarness } from '../../test-support/oauth.js';
import { JOBS_SCHEMA } from '../../platform/db/job-schema.js';
import type { RunRequest } from './run.js';
import { WEBHOOK_RUN_DEBOUNCE_SECONDS, registerSyncJobs } from './syncs.jobs.js';
import { shopifyStore } from '../../test-support/syncs.js';

/** A run asked for through the API is queued on real pg-boss and run by a worker. */
let h: Awaited<ReturnType<typeof oauthHarness>>;
let jobs: JobRunner | undefined;
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
}, 60_000);
afterAll(async () => {
  await jobs?.stop();
  await h.close();
});

/** The database's clock in ms (what cuts debounce slots). */
const databaseNowMs = async () => Number((await adminQuery(h.scratch!.adminUrl, 'select extract(epoch from clock_timestamp()) * 1000 as ms'))[0].ms);
/** Far more than 20 sends take on a loaded machine. */
const BURST_ROOM_MS = 5_000;

describe('sync jobs', () => {
  it('POST …/run queues the run on pg-boss; a worker runs it and the history shows it succeeded', async () => {
    jobs = await startJobRunner({ url: jobsRoleUrl(h.scratch!.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
    await registerSyncJobs(jobs, h.t.services.syncs);
    const acct = await signup(h.t.app);
    const store = `jobs-${randomBytes(4).toString('hex')}.myshopify.com`;
    const token = `shpat_${randomBytes(12).toString('hex')}`;
    h.sandbox.seed('shopify', { accessToken: token, storeDomain: store });
    const saved = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', apiKey: token, additionalConfig: { storeDomain: store } } });
    const connectionId = saved.json().data.id as string;
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run', 'records:read'] })).key;
    expect((await h.t.app.inject({ method: 'POST', url: `/api/syncs/${connectionId}/orders/run`, headers: bearer(key) })).statusCode).toBe(202);
    const runs = async () => (await h.t.app.inject({ method: 'GET', url: '/api/syncs/runs', headers: bearer(key) })).json().data as Array<{ status: string; added: number; trigger: string }>;
    const end = Date.now() + 20_000;
    let seen = await runs();
    while (!(seen[0]?.status === 'succeeded') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await runs();
    }
    expect(seen).toMatchObject([{ status: 'succeeded', added: 120, trigger: 'manual' }]);
    // It went through the queue (not this process's fallback), and the job is done.
    const job = () => adminQuery(h.scratch!.adminUrl, `select state, data from ${JOBS_SCHEMA}.job where name = 'syncs.run'`);
    let queued = await job();
    while (queued[0]?.state !== 'completed' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      queued = await job();
    }
    expect(queued).toMatchObject([{ state: 'completed', data: { tenantId: acct.tenantId, connectionId, sync: 'orders', trigger: 'manual' } }]);
  }, 30_000);

  it('a burst of change notices for one connection queues at most two runs (this 30 s slot and the next)', async () => {
    jobs ??= await startJobRunner({ url: jobsRoleUrl(h.scratch!.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
    let queue: ((req: RunRequest) => Promise<void>) | undefined;
    // Only the queueing side: nothing handles the jobs, so they stay countable.
    await registerSyncJobs({ ...jobs, handle: async () => undefined }, { run: async () => { throw new Error('not run here'); }, useQueue: (q) => { queue = q; } });
    const req: RunRequest = { tenantId: randomUUID(), connectionId: randomUUID(), sync: 'orders', trigger: 'webhook', mode: 'incremental' };
    // A burst that straddles a slot's end legitimately makes a third run (the slot after next):
    // start it early in a slot, by the database's clock (pg-boss cuts slots by it).
    const slotMs = WEBHOOK_RUN_DEBOUNCE_SECONDS * 1000;
    const into = (await databaseNowMs()) % slotMs;
    if (into > slotMs - BURST_ROOM_MS) await new Promise((r) => setTimeout(r, slotMs - into + 300));
    const first = Math.floor((await databaseNowMs()) / slotMs);
    for (let i = 0; i < 20; i++) await queue!(req);
    const last = Math.floor((await databaseNowMs()) / slotMs);
    const [made] = await adminQuery(h.scratch!.adminUrl, `select count(*)::int as n from ${JOBS_SCHEMA}.job where name = 'syncs.run' and data->>'connectionId' = $1`, [req.connectionId]);
    expect(made.n).toBeGreaterThanOrEqual(1);
    // Within one slot: that slot's run and the next one's. Should the burst still outlast the room
    // it was given, each slot it reached may add the one after it, and no more.
    expect(made.n).toBeLessThanOrEqual(2 + (last - first));
  });

  it('a scheduled run whose provider fails mid-sync is recorded failed with a sync.failed event, retried by pg-boss with backoff, and the retry succeeds; each attempt is in the history', async () => {
    jobs ??= await startJobRunner({ url: jobsRoleUrl(h.scratch!.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
    await registerSyncJobs(jobs, h.t.services.syncs, { retryDelaySeconds: 1 });
    const acct = await signup(h.t.app);
    const { store, connectionId } = await shopifyStore(h, acct, 600);
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['records:read'] })).key;
    // The store's other syncs (products, inventory levels) are due and run too; this is about its orders.
    const runs = async () => (await h.t.app.inject({ method: 'GET', url: `/api/syncs/runs?connection=${connectionId}&sync=orders`, headers: bearer(key) })).json().data as Array<Record<string, unknown>>;
    const until = async (done: (r: Array<Record<string, unknown>>) => boolean) => {
      const end = Date.now() + 20_000;
      let seen = await runs();
      while (!done(seen) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await runs();
      }
      return seen;
    };
    // The store answers its first page, then 503 until healed.
    h.sandbox.fail('shopify', { status: 503, path: `/${store}/admin/api/2025-07/orders.json`, after: 1 });
    try {
      const { claimed } = await h.t.services.syncs.tick();
      expect(claimed.filter((c) => c.connection_id === connectionId).map((c) => c.sync).sort()).toEqual(['inventory_levels', 'orders', 'products']);
      const failed = await until((r) => r.some((x) => x.status === 'failed'));
      expect(failed).toMatchObject([{ status: 'failed', trigger: 'schedule', attempt: 1, pages: 1, errorCode: 'http_503' }]);
    } finally {
      h.sandbox.heal('shopify');
    }
    const history = await until((r) => r.some((x) => x.status === 'succeeded'));
    expect(history.map((r) => [r.trigger, r.attempt, r.status])).toEqual([['schedule', 2, 'succeeded'], ['schedule', 1, 'failed']]);
    expect(history[0]).toMatchObject({ mode: 'full', added: 350, updated: 0, deleted: 0, pages: 3, dueAt: history[1]!.dueAt });
    const events = (await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('events').select(['type', 'payload']).where('type', 'like', 'sync.%').orderBy('id').execute()))
      .filter((e) => (e.payload as { sync?: string }).sync === 'orders');
    expect(events).toMatchObject([{ type: 'sync.failed', payload: { error: 'http_503', trigger: 'schedule', failures: 1 } }, { type: 'sync.succeeded', payload: { added: 350 } }]);
    const records = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('records').select('deleted_at').where('connection_id', '=', connectionId).where('model', '=', 'shopify_orders').execute());
    expect([records.length, records.filter((r) => r.deleted_at).length]).toEqual([600, 0]);
    // The schedule's run is no longer in flight once it succeeded.
    const [schedule] = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_schedules').select('in_flight_until').where('connection_id', '=', connectionId).where('sync', '=', 'orders').execute());
    expect(schedule!.in_flight_until).toBeNull();
  }, 40_000);
});
