import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopifyWebhookDelivery } from '@keyhold/sandbox';
import { type Account, addMember, bearer, createApiKey, enrolMfa, signup } from '../../test-support/accounts.js';
import { appFor, oauthHarness, oauthOptions } from '../../test-support/oauth.js';
import { nodeServices, silentLogger, testRing } from '../../test-support/index.js';
import { createDb } from '../../platform/db/database.js';
import { schedulesOf, shopifyStore, transitionTo } from '../../test-support/syncs.js';
import type { RunRequest } from './run.js';

/**
 * Per-connection schedules, Keyhold's pause while a connection needs reauthorization, run-all and
 * the state listing, on a database of this file's own (the scheduler claims across tenants).
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
const queued: RunRequest[] = [];
/** Set by a test: the outbox drain's consumers fail after the sync consumer ran (the hand-over rolls back). */
let failDrain = false;
/** What the queue saw of the drained event when it was called: was its hand-over committed yet? */
const dispatchedWhenQueued: boolean[] = [];
beforeAll(async () => {
  h = await oauthHarness({
    scratch: true,
    eventConsumers: [async () => { if (failDrain) throw new Error('a later consumer failed'); }],
  });
  h.t.services.syncs.useQueue(async (req) => { queued.push(req); });
}, 60_000);
afterAll(() => h.close());

const svc = () => h.t.services.syncs;
const api = (acct: Account | string, method: 'GET' | 'PUT' | 'POST', url: string, payload?: object, headers: Record<string, string> = {}) =>
  h.t.app.inject({ method, url, headers: { ...bearer(typeof acct === 'string' ? acct : acct.accessToken), ...headers }, ...(payload ? { payload } : {}) });
const stateOf = async (acct: Account | string) => (await api(acct, 'GET', '/api/syncs')).json().data as Array<Record<string, any>>;
const mine = (acct: Account) => queued.filter((q) => q.tenantId === acct.tenantId);
/** A Shopify connection has three syncs (orders, products, inventory_levels); the tests below are mostly about orders. */
const SHOPIFY_SYNCS = [['inventory_levels', 'shopify_inventory_levels'], ['orders', 'shopify_orders'], ['products', 'shopify_products']] as const;
const rowOf = (state: Array<Record<string, any>>, connectionId: string, sync = 'orders') => state.find((s) => s.connectionId === connectionId && s.sync === sync);

describe('sync schedules', () => {
  it("GET /api/syncs lists every sync of every connection with its definition's frequency; PUT …/schedule overrides it and pauses it", async () => {
    const acct = await signup(h.t.app);
    const a = await shopifyStore(h, acct, 120, 'a');
    const b = await shopifyStore(h, acct, 120, 'b');
    const state = await stateOf(acct);
    // One entry per (connection, sync), ordered by label then sync.
    expect(state.map((s) => [s.connectionId, s.sync, s.provider, s.model])).toEqual(
      [a, b].flatMap((c) => SHOPIFY_SYNCS.map(([sync, model]) => [c.connectionId, sync, 'shopify', model])));
    expect(rowOf(state, a.connectionId)).toMatchObject({ label: 'a', frequency: { effectiveMinutes: 60, overrideMinutes: null, defaultMinutes: 60 }, paused: false, pausedReason: null, lastRun: null, lastSuccessAt: null });
    // Each sync has its own definition's frequency.
    expect(rowOf(state, a.connectionId, 'products')).toMatchObject({ frequency: { effectiveMinutes: 360, overrideMinutes: null, defaultMinutes: 360 } });
    for (const s of state) expect(new Date(s.nextRunAt).getTime()).toBeLessThanOrEqual(h.t.clock().getTime());

    const url = `/api/syncs/${a.connectionId}/orders/schedule`;
    const set = await api(acct, 'PUT', url, { frequencyMinutes: 15 });
    expect(set.statusCode).toBe(200);
    expect(set.json().data).toMatchObject({ frequency: { effectiveMinutes: 15, overrideMinutes: 15, defaultMinutes: 60 }, paused: false });
    const paused = (await api(acct, 'PUT', url, { paused: true })).json().data;
    expect(paused).toMatchObject({ paused: true, nextRunAt: null, frequency: { effectiveMinutes: 15 } });
    // The change is to a's orders only: b and a's other syncs are untouched.
    const touched = async () => (await stateOf(acct)).filter((s) => s.frequency.overrideMinutes !== null || s.paused).map((s) => [s.connectionId, s.sync]);
    expect(await touched()).toEqual([[a.connectionId, 'orders']]);
    const back = (await api(acct, 'PUT', url, { frequencyMinutes: null, paused: false })).json().data;
    expect(back).toMatchObject({ paused: false, frequency: { effectiveMinutes: 60, overrideMinutes: null } });
    expect(await touched()).toEqual([]);

    for (const bad of [{}, { frequencyMinutes: 1 }, { frequencyMinutes: 1.5 }, { paused: 'yes' }, { frequencyMinutes: 30, extra: 1 }]) {
      const res = await api(acct, 'PUT', url, bad);
      expect([res.statusCode, res.json().code], JSON.stringify(bad)).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await api(acct, 'PUT', `/api/syncs/${a.connectionId}/invoices/schedule`, { paused: true })).json().code).toBe('NOT_FOUND');
    // Each change is in the audit log (3 accepted above; the refused ones wrote nothing).
    const audit = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('audit_logs').select(['action', 'entity_id', 'metadata']).where('action', '=', 'sync_schedules.update').orderBy('seq').execute());
    expect(audit.map((e) => [e.entity_id, e.metadata])).toEqual([
      [a.connectionId, { sync: 'orders', frequencyMinutes: 15, paused: false }],
      [a.connectionId, { sync: 'orders', frequencyMinutes: 15, paused: true }],
      [a.connectionId, { sync: 'orders', frequencyMinutes: null, paused: false }],
    ]);
  });

  it("GET /api/syncs?connection= lists one connection's syncs (its page on the console), counted alone; another tenant's connection lists none", async () => {
    const acct = await signup(h.t.app);
    const a = await shopifyStore(h, acct, 120, 'a');
    await shopifyStore(h, acct, 120, 'b');
    const res = (await api(acct, 'GET', `/api/syncs?connection=${a.connectionId}&limit=2`)).json();
    expect(res.data.map((s: Record<string, string>) => [s.connectionId, s.sync])).toEqual(SHOPIFY_SYNCS.slice(0, 2).map(([sync]) => [a.connectionId, sync]));
    expect(res.pagination).toMatchObject({ total: SHOPIFY_SYNCS.length, hasMore: true });
    const other = await signup(h.t.app);
    const foreign = (await api(other, 'GET', `/api/syncs?connection=${a.connectionId}`)).json();
    expect([foreign.data, foreign.pagination.total]).toEqual([[], 0]);
    expect((await api(acct, 'GET', '/api/syncs?connection=nope')).statusCode).toBe(400);
  });

  it('who may: a member reads the state but cannot change a schedule; a key needs syncs:run to change it and records:read to read it; another tenant gets 404', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    const url = `/api/syncs/${connectionId}/orders/schedule`;
    const member = await addMember(h.t.app, acct, 'member');
    expect(await stateOf(member)).toHaveLength(SHOPIFY_SYNCS.length);
    expect((await api(member, 'PUT', url, { paused: true })).json().code).toBe('FORBIDDEN');
    const runner = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    const reader = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['records:read'] })).key;
    expect((await api(runner, 'PUT', url, { paused: true })).statusCode).toBe(200);
    expect((await api(reader, 'PUT', url, { paused: false })).json().code).toBe('FORBIDDEN');
    expect((await api(runner, 'GET', '/api/syncs')).json().code).toBe('FORBIDDEN');
    const read = await stateOf(reader);
    expect(read.map((s) => [s.connectionId, s.sync, s.paused])).toEqual(SHOPIFY_SYNCS.map(([sync]) => [connectionId, sync, sync === 'orders']));

    const other = await signup(h.t.app);
    const res = await api(other, 'PUT', url, { paused: false });
    expect([res.statusCode, res.json().code]).toEqual([404, 'NOT_FOUND']);
    expect(await stateOf(other)).toEqual([]);
    expect((await schedulesOf(h, acct)).find((s) => s.sync === 'orders')!.paused).toBe(true);
  });

  it('the scheduler queues due runs with trigger schedule, each (connection, sync) once per its frequency; a paused one and an override are respected', async () => {
    const acct = await signup(h.t.app);
    // The clock moves hours below: a key, which does not expire like a person's access token.
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run', 'records:read'] })).key;
    const [a, b, c] = [await shopifyStore(h, acct, 120, 'a'), await shopifyStore(h, acct, 120, 'b'), await shopifyStore(h, acct, 120, 'c')];
    expect((await api(acct, 'PUT', `/api/syncs/${b.connectionId}/orders/schedule`, { paused: true })).statusCode).toBe(200);
    expect((await api(acct, 'PUT', `/api/syncs/${c.connectionId}/orders/schedule`, { frequencyMinutes: 15 })).statusCode).toBe(200);
    const queuedNow = () => mine(acct).map((q) => [q.connectionId, q.sync, q.trigger]).sort();
    const expected = (pairs: Array<[{ connectionId: string }, string]>) => pairs.map(([x, sync]) => [x.connectionId, sync, 'schedule']).sort();
    queued.length = 0;
    await svc().tick();
    const first = mine(acct);
    // Every sync of every store is new, so due, except b's paused orders.
    expect(queuedNow()).toEqual(expected([a, b, c].flatMap((x) => SHOPIFY_SYNCS.map(([sync]) => [x, sync] as [typeof x, string])).filter(([x, sync]) => !(x === b && sync === 'orders'))));
    expect(first.every((q) => typeof q.dueAt === 'string')).toBe(true);
    // Claimed: not queued again until its next time; c's orders (every 15 min) are due again
    // first, but not while their run is still in flight.
    queued.length = 0;
    await svc().tick();
    expect(mine(acct)).toEqual([]);
    h.t.clock.advance(16 * 60_000);
    await svc().tick();
    expect(mine(acct)).toEqual([]);
    for (const q of first) await svc().release(q);
    await svc().tick();
    expect(queuedNow()).toEqual(expected([[c, 'orders']]));
    await svc().release(mine(acct)[0]!);
    h.t.clock.advance(45 * 60_000);
    queued.length = 0;
    await svc().tick();
    const inFlight = mine(acct);
    // An hour after the first: the hourly syncs (orders, inventory levels) except b's paused
    // orders; products (every 6 h) are not due yet.
    expect(queuedNow()).toEqual(expected([[a, 'orders'], [c, 'orders'], [a, 'inventory_levels'], [b, 'inventory_levels'], [c, 'inventory_levels']]));
    for (const q of inFlight) await svc().release(q);
    // The state shows the schedule's next run and the scheduled run once it ran.
    const orders = inFlight.find((q) => q.sync === 'orders')!;
    const ran = await svc().run({ ...orders, attempt: 1 });
    expect(ran).toMatchObject({ status: 'succeeded', added: 120 });
    const row = rowOf(await stateOf(key), orders.connectionId)!;
    expect(row.lastRun).toMatchObject({ id: ran.id, status: 'succeeded', trigger: 'schedule', errorCode: null });
    expect(row.lastSuccessAt).toEqual(expect.any(String));
    const history = (await api(key, 'GET', `/api/syncs/runs?connection=${row.connectionId}`)).json().data;
    expect(history[0]).toMatchObject({ sync: 'orders', trigger: 'schedule', attempt: 1, dueAt: orders.dueAt });
  });

  it('two nodes ticking at the same moment queue each due (connection, sync) once', async () => {
    // Three tenants of three stores: 27 (connection, sync) pairs, each tenant's 9 within its share
    // of a tick (10), so every pair is due and claimable each round. Products (every 6 h by
    // default) are set to hourly so that all three syncs are due every round.
    const accts = [await signup(h.t.app), await signup(h.t.app), await signup(h.t.app)];
    const pairs: string[] = [];
    for (const acct of accts) {
      for (let i = 0; i < 3; i++) {
        const { connectionId } = await shopifyStore(h, acct, 120, `s${i}`);
        expect((await api(acct, 'PUT', `/api/syncs/${connectionId}/products/schedule`, { frequencyMinutes: 60 })).statusCode).toBe(200);
        pairs.push(...SHOPIFY_SYNCS.map(([sync]) => `${connectionId}/${sync}`));
      }
    }
    const ours = new Set(accts.map((a) => a.tenantId));
    const db2 = createDb({ url: h.scratch!.appUrl, poolMax: 4, log: silentLogger() });
    const node2 = nodeServices(db2, testRing(), h.t.clock, oauthOptions(h.sandbox));
    const onNode2: RunRequest[] = [];
    node2.syncs.useQueue(async (req) => { onNode2.push(req); });
    try {
      for (let round = 0; round < 10; round++) {
        queued.length = 0;
        onNode2.length = 0;
        await Promise.all([svc().tick(), node2.syncs.tick(), svc().tick(), node2.syncs.tick(), svc().tick(), node2.syncs.tick()]);
        const all = [...queued, ...onNode2].filter((q) => ours.has(q.tenantId));
        expect(all.map((q) => `${q.connectionId}/${q.sync}`).sort(), `round ${round}`).toEqual([...pairs].sort());
        for (const q of all) await svc().release(q);
        h.t.clock.advance(61 * 60_000); // all due again
      }
    } finally {
      await db2.close();
    }
  });

  it('needs_reauth pauses the connection’s syncs (no scheduled run; a queued run is skipped with a code; a manual run is refused) and a reconnect resumes them', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    const other = await shopifyStore(h, acct, 120, 'other');
    await stateOf(acct); // schedules exist
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run', 'records:read'] })).key;
    await transitionTo(h, acct, connectionId, 'needs_reauth', 'needs_reauth');
    // Every sync of the connection is paused, not only the first.
    const ofConn = async () => (await stateOf(key)).filter((s) => s.connectionId === connectionId);
    expect((await ofConn()).map((s) => [s.sync, s.pausedReason, s.nextRunAt])).toEqual(SHOPIFY_SYNCS.map(([sync]) => [sync, 'needs_reauth', null]));
    const next = await enrolMfa(h.t.app, h.t.clock, acct);
    for (const [sync] of SHOPIFY_SYNCS) {
      const manual = await api(acct, 'POST', `/api/syncs/${connectionId}/${sync}/run`, undefined, { 'x-mfa-code': await next() });
      expect([manual.statusCode, manual.json().code], sync).toEqual([409, 'INTEGRATION_NEEDS_REAUTH']);
    }
    queued.length = 0;
    h.t.clock.advance(2 * 3_600_000);
    await svc().tick();
    const bySync = () => mine(acct).map((q) => [q.connectionId, q.sync]).sort();
    expect(bySync()).toEqual(SHOPIFY_SYNCS.map(([sync]) => [other.connectionId, sync]).sort());
    for (const q of mine(acct)) await svc().release(q);

    // A run queued before the pause (a change notice) is not started: recorded as skipped, nothing called.
    const calls = h.sandbox.requests().length;
    const skipped = await svc().run({ tenantId: acct.tenantId, connectionId, sync: 'orders', trigger: 'webhook', mode: 'incremental' });
    expect(skipped).toMatchObject({ status: 'skipped', errorCode: 'connection_needs_reauth', providerCalls: 0 });
    expect(h.sandbox.requests().length).toBe(calls);
    const historyRes = await api(key, 'GET', `/api/syncs/runs?connection=${connectionId}`);
    const history = historyRes.json().data;
    expect(history, historyRes.body).toMatchObject([{ status: 'skipped', errorCode: 'connection_needs_reauth', trigger: 'webhook' }]);
    expect(await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('events').select('type').where('type', 'like', 'sync.%').execute())).toEqual([]);

    await transitionTo(h, acct, connectionId, 'active', 'reconnected');
    for (const resumed of await ofConn()) {
      expect(resumed, resumed.sync).toMatchObject({ pausedReason: null, paused: false });
      expect(new Date(resumed.nextRunAt).getTime()).toBeLessThanOrEqual(h.t.clock().getTime());
    }
    queued.length = 0;
    await svc().tick();
    expect(bySync()).toEqual(SHOPIFY_SYNCS.map(([sync]) => [connectionId, sync]).sort());
    const orders = mine(acct).find((q) => q.sync === 'orders')!;
    expect(await svc().run(orders)).toMatchObject({ status: 'succeeded', added: 120 });
    for (const q of mine(acct)) await svc().release(q);

    // connection.recovered resumes too; a person's pause survives Keyhold's pause and resume.
    expect((await api(key, 'PUT', `/api/syncs/${connectionId}/orders/schedule`, { paused: true })).statusCode).toBe(200);
    await transitionTo(h, acct, connectionId, 'needs_reauth', 'needs_reauth');
    await transitionTo(h, acct, connectionId, 'active', 'recovered');
    expect((await ofConn()).map((s) => [s.sync, s.pausedReason, s.paused, s.nextRunAt === null])).toEqual(SHOPIFY_SYNCS.map(([sync]) => [sync, null, sync === 'orders', sync === 'orders']));
  });

  it('run-all queues every sync of every usable connection (202 with the count); people need X-MFA-Code, keys syncs:run', async () => {
    const acct = await signup(h.t.app);
    const [a, b, c] = [await shopifyStore(h, acct, 120, 'a'), await shopifyStore(h, acct, 120, 'b'), await shopifyStore(h, acct, 120, 'c')];
    await transitionTo(h, acct, c.connectionId, 'needs_reauth', 'needs_reauth');
    expect((await api(acct, 'POST', '/api/syncs/run-all')).statusCode).toBe(403);
    const next = await enrolMfa(h.t.app, h.t.clock, acct);
    queued.length = 0;
    const res = await api(acct, 'POST', '/api/syncs/run-all', undefined, { 'x-mfa-code': await next() });
    // Every sync of a and b (three each); none of c, which needs reauthorization.
    const usable = [a, b].flatMap((x) => SHOPIFY_SYNCS.map(([sync]) => [x.connectionId, sync, 'manual']));
    expect([res.statusCode, res.json().data]).toEqual([202, { queued: usable.length }]);
    expect(mine(acct).map((q) => [q.connectionId, q.sync, q.trigger]).sort()).toEqual(usable.sort());
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    expect((await api(key, 'POST', '/api/syncs/run-all')).json().data).toEqual({ queued: usable.length });
    const reader = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['records:read'] })).key;
    expect((await api(reader, 'POST', '/api/syncs/run-all')).json().code).toBe('FORBIDDEN');
    const audit = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('audit_logs').select(['actor_type', 'metadata']).where('action', '=', 'syncs.run_all').orderBy('seq').execute());
    expect(audit.map((e) => [e.actor_type, e.metadata])).toEqual([['user', { queued: usable.length }], ['api_key', { queued: usable.length }]]);
    // Another tenant's run-all queues nothing of this one.
    const other = await signup(h.t.app);
    queued.length = 0;
    const otherKey = (await createApiKey(h.t.app, h.t.clock, other, { role: 'admin', scopes: ['syncs:run'] })).key;
    expect((await api(otherKey, 'POST', '/api/syncs/run-all')).json().data).toEqual({ queued: 0 });
    expect(queued).toEqual([]);
  });

  it('a change notice queues its run only after the drain committed, and not at all when the hand-over rolled back', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await shopifyStore(h, acct);
    const changed = async () => {
      const d = shopifyWebhookDelivery({ secret: appFor('shopify').clientSecret, shop: store, topic: 'orders/updated', body: { id: 5001 + Math.floor(Math.random() * 100) } });
      expect((await h.t.app.inject({ method: 'POST', url: '/api/webhooks/shopify', headers: d.headers, payload: d.body })).statusCode).toBe(200);
    };
    // The queue looks at the event from another connection: inside the drain's transaction it would not be dispatched yet.
    h.t.services.syncs.useQueue(async (req) => {
      queued.push(req);
      const stillQueued = await h.t.db.withTenant(acct.tenantId, async (tx) => {
        const e = await tx.selectFrom('events').select('id').where('type', '=', 'connection.changed').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
        return (await tx.selectFrom('event_queue').select('id').where('id', '=', e.id).executeTakeFirst()) !== undefined;
      });
      dispatchedWhenQueued.push(!stillQueued);
    });
    try {
      failDrain = true;
      await changed();
      queued.length = 0;
      await h.t.services.events.drain();
      expect(mine(acct)).toEqual([]);
      failDrain = false;
      await h.t.services.events.drain();
      // The runs are queued after the drain's commit, each once it has looked at the event.
      await expect.poll(() => dispatchedWhenQueued.length, { timeout: 5_000 }).toBe(SHOPIFY_SYNCS.length);
      // One incremental run of each of the connection's (incremental) syncs.
      expect(mine(acct).sort((x, y) => x.sync.localeCompare(y.sync)))
        .toEqual(SHOPIFY_SYNCS.map(([sync]) => ({ tenantId: acct.tenantId, connectionId, sync, trigger: 'webhook', mode: 'incremental' } satisfies RunRequest)));
      expect(dispatchedWhenQueued).toHaveLength(SHOPIFY_SYNCS.length);
      for (const handedOver of dispatchedWhenQueued) expect(handedOver).toBe(true);
    } finally {
      failDrain = false;
      h.t.services.syncs.useQueue(async (req) => { queued.push(req); });
    }
  });
});

