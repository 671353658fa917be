import { createHash, randomBytes } from 'node:crypto';
import { shopifyWebhookDelivery } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, createApiKey, enrolMfa, signup } from '../../test-support/accounts.js';
import { nodeServices, silentLogger, testRing } from '../../test-support/index.js';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { adminQuery, appFor, oauthHarness, oauthOptions } from '../../test-support/oauth.js';
import { systemClock } from '../../platform/clock.js';
import { createDb } from '../../platform/db/database.js';
import type { RunRequest } from './run.js';
import { createSyncsRepo } from './syncs.repo.js';

/**
 * The sync engine against the sandbox's Shopify stores, on a database of this file's own (the
 * outbox drain below sees every tenant). Runs are called directly where a rule is tested, and
 * through the API where who may ask for one is.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
const queued: RunRequest[] = [];
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
  // Runs requested through the API or by change notices are recorded here and run by the test.
  h.t.services.syncs.useQueue(async (req) => { queued.push(req); });
}, 60_000);
afterAll(() => h.close());

const svc = () => h.t.services.syncs;
const orders = () => h.sandbox.shopifyOrders;

/** A tenant with one Shopify store of `count` orders (at least the sandbox's 120), connected with a custom-app token. */
async function storeOf(acct: Account, count: number, label = 'default') {
  const store = `sync-${randomBytes(5).toString('hex')}.myshopify.com`;
  const token = `shpat_${randomBytes(12).toString('hex')}`;
  h.sandbox.seed('shopify', { accessToken: token, storeDomain: store });
  orders().grow(store, count);
  const res = await h.t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: 'shopify', apiKey: token, label, additionalConfig: { storeDomain: store } },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return { store, connectionId: res.json().data.id as string };
}

const run = (acct: Account, connectionId: string, trigger: RunRequest['trigger'] = 'manual', mode?: 'full' | 'incremental') =>
  svc().run({ tenantId: acct.tenantId, connectionId, sync: 'orders', trigger, ...(mode ? { mode } : {}) });

const recordRows = (acct: Account, connectionId: string) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('records').selectAll().where('connection_id', '=', connectionId).orderBy('external_id').execute());

const eventsOf = (acct: Account, type: string) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('events').select(['type', 'payload']).where('type', '=', type).orderBy('id').execute());

async function feed(acct: Account | string, query: string) {
  const res = await h.t.app.inject({ method: 'GET', url: `/api/records/shopify_orders?${query}`, headers: bearer(typeof acct === 'string' ? acct : acct.accessToken) });
  return res;
}

describe('sync engine: Shopify orders', () => {
  it('a full run stores every order; an incremental run rewrites only the changed ones and the change cursor moves past them', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 600);
    const first = await run(acct, connectionId);
    expect(first).toMatchObject({ status: 'succeeded', mode: 'full', added: 600, updated: 0, deleted: 0, pages: 3, providerCalls: 3, rateWaitMs: 0 });
    const before = await recordRows(acct, connectionId);
    expect(before).toHaveLength(600);

    const head = (await feed(acct, 'limit=500')).json();
    expect(head.data).toHaveLength(500);
    expect(head.cursor.hasMore).toBe(true);
    const tail = (await feed(acct, `cursor=${head.cursor.next}&limit=500`)).json();
    expect(tail.data).toHaveLength(100);
    expect(tail.cursor.hasMore).toBe(false);
    const cursor = tail.cursor.next as string;

    const changed = [5003, 5210, 5599];
    for (const id of changed) expect(orders().update(store, id, new Date())).toBe(true);
    const second = await run(acct, connectionId);
    expect(second).toMatchObject({ status: 'succeeded', mode: 'incremental', added: 0, updated: 3, deleted: 0, pages: 1 });
    const after = await recordRows(acct, connectionId);
    const byId = new Map(before.map((r) => [r.external_id, r]));
    const rewritten = after.filter((r) => r.change_seq !== byId.get(r.external_id)!.change_seq).map((r) => Number(r.external_id));
    expect(rewritten.sort()).toEqual(changed);
    // Unchanged ones keep their payload version, change time and cursor.
    const untouched = after.find((r) => r.external_id === '5004')!;
    expect([untouched.changed_at, untouched.change_seq]).toEqual([byId.get('5004')!.changed_at, byId.get('5004')!.change_seq]);

    const news = (await feed(acct, `cursor=${cursor}`)).json();
    expect(news.data.map((r: { externalId: string }) => Number(r.externalId)).sort()).toEqual(changed);
    expect(news.data[0].payload.financial_status).toBe('paid');
    expect(BigInt(news.cursor.next)).toBeGreaterThan(BigInt(cursor));
    expect((await feed(acct, `cursor=${news.cursor.next}`)).json()).toMatchObject({ data: [], cursor: { next: news.cursor.next, hasMore: false } });
    for (const bad of ['-1', 'abc', '9223372036854775808']) expect((await feed(acct, `cursor=${bad}`)).statusCode, bad).toBe(400);

    // The incremental run asked only for orders changed since the last run (updated_at_min), with status=any.
    const asked = h.sandbox.requests().filter((r) => r.path.includes(store) && r.path.endsWith('/orders.json'));
    expect(asked.at(-1)!.query).toMatch(/updated_at_min=/);
    expect(asked.at(-1)!.query).toMatch(/status=any/);
    const events = await eventsOf(acct, 'sync.succeeded');
    expect(events.map((e) => e.payload)).toMatchObject([{ mode: 'full', added: 600 }, { mode: 'incremental', updated: 3, cursorFrom: expect.any(String), cursorTo: expect.any(String) }]);

    // A full run reads all 600 again but rewrites only the one that changed since.
    orders().update(store, 5100, new Date());
    expect(await run(acct, connectionId, 'manual', 'full')).toMatchObject({ status: 'succeeded', mode: 'full', added: 0, updated: 1, deleted: 0, pages: 3 });
    const latest = await recordRows(acct, connectionId);
    const bySeq = new Map(after.map((r) => [r.external_id, r.change_seq]));
    expect(latest.filter((r) => r.change_seq !== bySeq.get(r.external_id)).map((r) => r.external_id)).toEqual(['5100']);
  });

  it('deleted orders are marked deleted only by a full run that succeeds; an incremental or failing run deletes nothing', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 300);
    await run(acct, connectionId);
    expect(orders().remove(store, 5007)).toBe(true);
    expect(orders().remove(store, 5250)).toBe(true);

    expect(await run(acct, connectionId)).toMatchObject({ status: 'succeeded', mode: 'incremental', deleted: 0 });
    // A full run that fails on its second page: nothing deleted (it did not see everything).
    const failing = await runFailingOnPage(acct, connectionId, store, 2);
    expect(failing).toMatchObject({ status: 'failed', mode: 'full', errorCode: 'http_503', pages: 1 });
    expect((await recordRows(acct, connectionId)).filter((r) => r.deleted_at)).toHaveLength(0);

    const full = await run(acct, connectionId, 'manual', 'full');
    expect(full).toMatchObject({ status: 'succeeded', mode: 'full', deleted: 2, added: 0, updated: 0 });
    const deleted = (await recordRows(acct, connectionId)).filter((r) => r.deleted_at).map((r) => r.external_id).sort();
    expect(deleted).toEqual(['5007', '5250']);
    const tail = (await feed(acct, `cursor=${(await lastRun(acct)).cursor_from!}`)).json();
    expect(tail.data.map((r: { externalId: string; deletedAt: string | null }) => [r.externalId, r.deletedAt !== null]).sort()).toEqual([['5007', true], ['5250', true]]);
    // A second full run does not delete them again.
    expect(await run(acct, connectionId, 'manual', 'full')).toMatchObject({ status: 'succeeded', deleted: 0 });
  });

  it('a provider failing mid-sync: the run is failed with a code, a sync.failed event says so, and the next run starts where the last success left off', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 400);
    await run(acct, connectionId);
    for (const id of [5001, 5399]) orders().update(store, id, new Date());
    const failed = await runFailingOnPage(acct, connectionId, store, 1);
    expect(failed).toMatchObject({ status: 'failed', mode: 'incremental', errorCode: 'http_503' });
    const [event] = await eventsOf(acct, 'sync.failed');
    expect(event!.payload).toMatchObject({ syncRunId: failed.id, error: 'http_503', mode: 'incremental', trigger: 'manual', failures: 1 });
    const history = await h.t.app.inject({ method: 'GET', url: `/api/syncs/runs?connection=${connectionId}`, headers: bearer(acct.accessToken) });
    expect(history.json().data.map((r: { status: string; errorCode: string | null }) => [r.status, r.errorCode])).toEqual([['failed', 'http_503'], ['succeeded', null]]);
    expect(JSON.stringify(history.json())).not.toMatch(/shpat_/);
    // The checkpoint of the failed run was not kept: the retry still finds both changes.
    expect(await run(acct, connectionId)).toMatchObject({ status: 'succeeded', mode: 'incremental', updated: 2 });
  });

  it('the next run starts no later than this run began: a record changed on a page already read is not skipped', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 120);
    // A record whose update time is past this run's start (changed while the run read later pages,
    // or a provider clock ahead): the checkpoint must not jump to it.
    orders().update(store, 5100, new Date(h.t.clock().getTime() + 3_600_000));
    const started = h.t.clock().getTime();
    await run(acct, connectionId);
    expect(new Date((await lastRun(acct)).checkpoint!).getTime()).toBeLessThanOrEqual(started);
    // Changed at a time before that record's, after its page was read: the next run still finds it.
    orders().update(store, 5001, new Date(started + 60_000));
    expect(await run(acct, connectionId)).toMatchObject({ status: 'succeeded', mode: 'incremental', updated: 1 });
  });

  it('reset backfills from scratch: a full run that rewrites every record into the change feed', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await storeOf(acct, 260);
    await run(acct, connectionId);
    const cursor = (await lastRun(acct)).cursor_to!;
    const reset = await run(acct, connectionId, 'reset');
    expect(reset).toMatchObject({ status: 'succeeded', mode: 'full', added: 0, updated: 260, deleted: 0 });
    const page = (await feed(acct, `cursor=${cursor}&limit=500`)).json();
    expect(page.data).toHaveLength(260);
    expect((await lastRun(acct)).trigger).toBe('reset');
  });

  it('one run at a time per (connection, sync) across 2 nodes: of 6 concurrent runs one proceeds, the others are refused; another store runs alongside', async () => {
    const acct = await signup(h.t.app);
    const a = await storeOf(acct, 500, 'a');
    const b = await storeOf(acct, 500, 'b');
    // A second server node: its own pool and services over the same database.
    const db2 = createDb({ url: h.scratch!.appUrl, poolMax: 4, log: silentLogger() });
    const node2 = nodeServices(db2, testRing(), systemClock, oauthOptions(h.sandbox));
    const onNode2 = () => node2.syncs.run({ tenantId: acct.tenantId, connectionId: a.connectionId, sync: 'orders', trigger: 'manual' });
    // A slow store, so the first run is still going when every other one asks.
    h.sandbox.fail('shopify', { latencyMs: 250, path: `/${a.store}/admin/api/2025-07/orders.json` });
    const results = await Promise.allSettled([...Array.from({ length: 3 }, () => run(acct, a.connectionId)), ...Array.from({ length: 3 }, onNode2), run(acct, b.connectionId)])
      .finally(() => { h.sandbox.heal('shopify'); return db2.close(); });
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(2);
    expect(refused.map((r) => (r.reason as { code: string }).code)).toEqual(Array(5).fill('SYNC_ALREADY_RUNNING'));
    expect((await recordRows(acct, a.connectionId))).toHaveLength(500);
    expect((await recordRows(acct, b.connectionId))).toHaveLength(500);
    const runs = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').select(['connection_id', 'status']).execute());
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    // A run whose node died (its lease ran out) does not block the next one.
    await h.t.db.withTenant(acct.tenantId, (tx) => tx.insertInto('sync_runs').values({
      id: crypto.randomUUID(), tenant_id: acct.tenantId, connection_id: a.connectionId, sync: 'orders', trigger: 'manual', mode: 'full',
      started_at: new Date(h.t.clock().getTime() - 3_600_000), lease_until: new Date(h.t.clock().getTime() - 60_000),
    }).execute());
    expect(await run(acct, a.connectionId)).toMatchObject({ status: 'succeeded' });
    const closed = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').select(['status', 'error_code']).where('error_code', '=', 'lease_expired').execute());
    expect(closed).toEqual([{ status: 'failed', error_code: 'lease_expired' }]);
  });

  it('a run whose lease ran out (a stalled node) is closed by the next run and writes nothing more', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 600);
    h.sandbox.fail('shopify', { latencyMs: 300, path: `/${store}/admin/api/2025-07/orders.json`, after: 1 });
    try {
      const stalled = run(acct, connectionId);
      const runs = () => h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').selectAll().orderBy('id').execute());
      while ((await runs())[0]?.pages !== 1) await new Promise((r) => setTimeout(r, 10));
      await h.t.db.withTenant(acct.tenantId, (tx) => tx.updateTable('sync_runs').set({ lease_until: new Date(h.t.clock().getTime() - 1000) }).execute());
      const next = await run(acct, connectionId);
      expect(next).toMatchObject({ status: 'succeeded', added: 350 });
      expect(await stalled).toMatchObject({ status: 'failed', errorCode: 'lease_lost', pages: 1 });
      expect((await runs()).map((r) => [r.status, r.error_code, r.pages])).toEqual([['failed', 'lease_expired', 1], ['succeeded', null, 3]]);
      expect(await recordRows(acct, connectionId)).toHaveLength(600);
    } finally {
      h.sandbox.heal('shopify');
    }
  });

  it("the sync's calls share the connection's rate limit with live traffic: 45 pages past Shopify's burst of 40 are paced, never refused", async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 45 * 250);
    const started = performance.now();
    expect(await run(acct, connectionId)).toMatchObject({ status: 'succeeded', added: 45 * 250, pages: 45, providerCalls: 45, rateWaitMs: expect.any(Number) });
    // 2 calls/s once the bucket of 40 is spent: the last 5 pages wait about 2.5 s in all.
    expect(performance.now() - started).toBeGreaterThan(2000);
    const answered = h.sandbox.requests().filter((r) => r.provider === 'shopify' && r.path.includes(store)).map((r) => r.status);
    expect(answered).toHaveLength(45);
    expect(answered.filter((s) => s !== 200)).toEqual([]);
    // The history says how long the run waited for the limit, never more than the run took.
    const history = (await h.t.app.inject({ method: 'GET', url: `/api/syncs/runs?connection=${connectionId}`, headers: bearer(acct.accessToken) })).json().data;
    expect(history[0].rateWaitMs).toBeLessThan(performance.now() - started);
  }, 30_000);

  it('a run after live traffic spent the burst waits for the shared limit: the history shows the wait, and the store never answered 429', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 600);
    // Live traffic through the proxy's tenant path takes the whole burst of 40 (and a few more are refused by Keyhold, not the store).
    const liveCall = () => h.t.services.tenantClients.fetch(acct.tenantId, 'shopify', '/admin/api/2025-07/orders.json?limit=1').then(async (r) => { await r.text(); return r.status; });
    const live = await Promise.allSettled(Array.from({ length: 45 }, liveCall));
    expect(live.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(35);
    expect(live.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(expect.arrayContaining(['RATE_LIMITED']));
    // The bucket refills at 2/s while the burst finishes: spend that refill with more such calls (they
    // do not wait) until Keyhold refuses one. The stopwatch starts before the batch holding that
    // refusal, so when the refusal was decided the bucket held less than one token.
    let started = 0;
    const refused: unknown[] = [];
    for (let batch = 0; batch < 100 && !refused.length; batch++) {
      started = performance.now();
      for (const a of await Promise.allSettled(Array.from({ length: 5 }, liveCall))) {
        if (a.status === 'rejected') refused.push(a.reason);
        else expect(a.value).toBe(200);
      }
    }
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => (e as { code?: string }).code === 'RATE_LIMITED')).toBe(true);
    const result = await run(acct, connectionId);
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ status: 'succeeded', added: 600, pages: 3, providerCalls: 3 });
    // From less than one token, the run's 3 calls needed 2 refills at 2/s: 1 s at least (a few ms
    // off for the two clocks, Postgres' and this process's). It waited for them, and never longer than it took.
    expect(elapsed).toBeGreaterThan(((result.providerCalls - 1) / 2) * 1000 - 20);
    expect(result.rateWaitMs).toBeGreaterThan(0);
    expect(result.rateWaitMs).toBeLessThanOrEqual(elapsed);
    const history = (await h.t.app.inject({ method: 'GET', url: `/api/syncs/runs?connection=${connectionId}`, headers: bearer(acct.accessToken) })).json().data;
    expect(history[0]).toMatchObject({ id: result.id, rateWaitMs: result.rateWaitMs });
    const answered = h.sandbox.requests().filter((r) => r.provider === 'shopify' && r.path.includes(store)).map((r) => r.status);
    expect(answered.filter((s) => s === 429)).toEqual([]);
  }, 30_000);

  it('the change feed never skips a change: a page committed late holds back the writers after it, so a reader polling in between misses nothing', async () => {
    const acct = await signup(h.t.app);
    const [a, b] = [await storeOf(acct, 120, 'a'), await storeOf(acct, 120, 'b')];
    const repo = createSyncsRepo(h.t.db.kysely);
    const item = (id: string) => ({ id, json: JSON.stringify({ id }), hash: createHash('sha256').update(id).digest('hex') });
    const write = (connectionId: string, id: string, hold?: Promise<void>) => h.t.db.withTenant(acct.tenantId, async (tx) => {
      await repo.lockTenantFeed(tx, acct.tenantId);
      await repo.writePage(tx, { tenantId: acct.tenantId, connectionId, model: 'shopify_orders' }, [item(id)], { runId: crypto.randomUUID(), at: new Date() }, false);
      await hold;
    });
    let release!: () => void;
    const first = write(a.connectionId, 'late', new Promise<void>((r) => { release = r; })); // draws its change_seq, commits later
    await new Promise((r) => setTimeout(r, 50));
    const second = write(b.connectionId, 'early');
    await new Promise((r) => setTimeout(r, 150));
    const seen: string[] = [];
    let cursor = '0';
    const poll = async () => {
      const page = (await feed(acct, `cursor=${cursor}`)).json();
      seen.push(...page.data.map((r: { externalId: string }) => r.externalId));
      cursor = page.cursor.next;
    };
    await poll(); // while the first writer is still open
    release();
    await Promise.all([first, second]);
    await poll();
    expect(seen.sort()).toEqual(['early', 'late']);
  });

  it("a tenant's cursors count its own changes only: another tenant's writes leave no gaps in them", async () => {
    const [a, b] = [await signup(h.t.app), await signup(h.t.app)];
    const [storeA, storeB] = [await storeOf(a, 150), await storeOf(b, 300)];
    await Promise.all([run(b, storeB.connectionId), run(a, storeA.connectionId)]);
    const cursorsOf = async (acct: Account) => ((await feed(acct, 'limit=500')).json().data as Array<{ cursor: string }>).map((r) => Number(r.cursor));
    expect(await cursorsOf(a)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(await cursorsOf(b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it("tenant isolation: another tenant's records, runs and connections are invisible and answer 404", async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    const { connectionId } = await storeOf(a, 150);
    await run(a, connectionId);
    expect((await feed(b, '')).json().data).toEqual([]);
    expect((await feed(b, `connection=${connectionId}`)).json().data).toEqual([]);
    expect((await h.t.app.inject({ method: 'GET', url: '/api/syncs/runs', headers: bearer(b.accessToken) })).json().data).toEqual([]);
    await expect(run(b, connectionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const next = await enrolMfa(h.t.app, h.t.clock, b);
    const asked = await h.t.app.inject({ method: 'POST', url: `/api/syncs/${connectionId}/orders/run`, headers: { ...bearer(b.accessToken), 'x-mfa-code': await next() } });
    expect([asked.statusCode, asked.json().code]).toEqual([404, 'NOT_FOUND']);
    expect((await feed(a, 'limit=500')).json().data).toHaveLength(150);
  });

  it('who may run: an admin person needs a fresh MFA code, a key needs syncs:run; records need records:read', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await storeOf(acct, 120);
    const url = `/api/syncs/${connectionId}/orders/run`;
    const noCode = await h.t.app.inject({ method: 'POST', url, headers: bearer(acct.accessToken) });
    expect(noCode.statusCode).toBe(403);
    const next = await enrolMfa(h.t.app, h.t.clock, acct);
    queued.length = 0;
    const person = await h.t.app.inject({ method: 'POST', url, headers: { ...bearer(acct.accessToken), 'x-mfa-code': await next() } });
    expect([person.statusCode, person.json().data]).toEqual([202, { queued: true, connectionId, sync: 'orders', trigger: 'manual' }]);
    const runner = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    const reader = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'member', scopes: ['records:read'] })).key;
    expect((await h.t.app.inject({ method: 'POST', url: `/api/syncs/${connectionId}/orders/reset`, headers: bearer(runner) })).statusCode).toBe(202);
    expect((await h.t.app.inject({ method: 'POST', url, headers: bearer(reader) })).json().code).toBe('FORBIDDEN');
    expect((await feed(runner, '')).json().code).toBe('FORBIDDEN');
    expect((await feed(reader, '')).statusCode).toBe(200);
    expect((await h.t.app.inject({ method: 'POST', url: `/api/syncs/${connectionId}/customers/run`, headers: bearer(runner) })).json().code).toBe('NOT_FOUND');
    expect(queued.map((q) => q.trigger)).toEqual(['manual', 'reset']);
  });

  it("a provider's change notice (connection.changed) queues an incremental run, which picks up the change", async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await storeOf(acct, 120);
    await run(acct, connectionId);
    orders().update(store, 5042, new Date());
    const d = shopifyWebhookDelivery({ secret: appFor('shopify').clientSecret, shop: store, topic: 'orders/updated', body: { id: 5042 } });
    expect((await h.t.app.inject({ method: 'POST', url: '/api/webhooks/shopify', headers: d.headers, payload: d.body })).statusCode).toBe(200);
    // A change notice is processed as it is stored: its connection.changed is in the outbox already.
    const inbound = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('inbound_events').select('status').execute());
    expect(inbound.map((r) => r.status)).toEqual(['processed']);
    queued.length = 0;
    await h.t.services.events.drain();
    // Every incremental sync of the connection is queued (the store's products and stock too).
    expect(queued.map((q) => q.sync).sort()).toEqual(['inventory_levels', 'orders', 'products']);
    const ordersRun = queued.find((q) => q.sync === 'orders')!;
    expect(ordersRun).toEqual({ tenantId: acct.tenantId, connectionId, sync: 'orders', trigger: 'webhook', mode: 'incremental' });
    expect(await svc().run(ordersRun)).toMatchObject({ status: 'succeeded', mode: 'incremental', updated: 1 });
    expect((await lastRun(acct)).trigger).toBe('webhook');
  });
});

async function lastRun(acct: Account) {
  return h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow());
}

/** Runs the sync with the store's orders endpoint answering 503 from page `n` on (the pages before succeed). */
async function runFailingOnPage(acct: Account, connectionId: string, store: string, n: number) {
  h.sandbox.fail('shopify', { status: 503, path: `/${store}/admin/api/2025-07/orders.json`, after: n - 1 });
  try {
    return await run(acct, connectionId, 'manual', n > 1 ? 'full' : undefined);
  } finally {
    h.sandbox.heal('shopify');
  }
}

describe('sync engine: a run asked for while another finishes', () => {
  it('waits for the finishing run and plans from what it wrote: incremental from its checkpoint, not a second full read', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await storeOf(acct, 120);
    const repo = createSyncsRepo(h.t.db.kysely);
    // Another node's first run of this sync: running, its lease held.
    const other = uuidv7();
    await h.t.db.withTenant(acct.tenantId, (tx) => repo.startRun(tx, {
      id: other, tenant_id: acct.tenantId, connection_id: connectionId, sync: 'orders', trigger: 'manual', mode: 'full',
      started_at: h.t.clock(), lease_until: new Date(h.t.clock().getTime() + 600_000), attempt: 1, due_at: null,
    }));
    // Its finish is under way: the run closed with a checkpoint, the transaction not committed yet.
    let commit!: () => void;
    const held = new Promise<void>((r) => { commit = r; });
    let finisher: number | undefined;
    const finishing = h.t.db.withTenant(acct.tenantId, async (tx) => {
      await repo.finishRun(tx, acct.tenantId, other, { status: 'succeeded', finished_at: h.t.clock(), added: 120, pages: 1, checkpoint: '2020-01-01T00:00:00.000Z' });
      finisher = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid;
      await held;
    });
    let asked: ReturnType<typeof run> | undefined;
    try {
      await expect.poll(() => finisher, { timeout: 10_000 }).toBeDefined();
      // The run asked for now meets the finishing one: it waits for it (a lock wait), then goes on.
      asked = run(acct, connectionId);
      const waitingOnFinisher = () => adminQuery(h.scratch!.adminUrl, 'select 1 from pg_locks where not granted and $1 = any(pg_blocking_pids(pid))', [finisher]);
      await expect.poll(async () => (await waitingOnFinisher()).length, { timeout: 10_000 }).toBeGreaterThan(0);
    } finally {
      commit();
      await finishing;
    }
    const result = await asked;
    // Planned before the other run's commit, it would read the whole store again as a full run.
    expect(result).toMatchObject({ status: 'succeeded', mode: 'incremental' });
  });
});
