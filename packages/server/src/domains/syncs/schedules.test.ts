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
const dispatchedWhenQueued: Array<Date | null> = [];
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

describe('sync schedules', () => {
  it("GET /api/syncs lists every sync of every connection with its definition's frequency; PUT …/schedule overrides it and pauses it", async () => {
    const acct = await signup(h.t.app);
    const a = await shopifyStore(h, acct, 120, 'a');
    const b = await shopifyStore(h, acct, 120, 'b');
    const state = await stateOf(acct);
    expect(state.map((s) => [s.connectionId, s.sync, s.provider, s.model])).toEqual([[a.connectionId, 'orders', 'shopify', 'shopify_orders'], [b.connectionId, 'orders', 'shopify', 'shopify_orders']]);
    expect(state[0]).toMatchObject({ label: 'a', frequency: { effectiveMinutes: 60, overrideMinutes: null, defaultMinutes: 60 }, paused: false, pausedReason: null, lastRun: null, lastSuccessAt: null });
    expect(new Date(state[0]!.nextRunAt).getTime()).toBeLessThanOrEqual(h.t.clock().getTime());

    const url = `/api/syncs/${a.connectionId}/orders/schedule`;
    const set = await api(acct, 'PUT', url, { frequencyMinutes: 15 });
    expect(set.statusCode).toBe(200);
    expect(set.json().data).toMatchObject({ frequency: { effectiveMinutes: 15, overrideMinutes: 15, defaultMinutes: 60 }, paused: false });
    const paused = (await api(acct, 'PUT', url, { paused: true })).json().data;
    expect(paused).toMatchObject({ paused: true, nextRunAt: null, frequency: { effectiveMinutes: 15 } });
    const back = (await api(acct, 'PUT', url, { frequencyMinutes: null, paused: false })).json().data;
    expect(back).toMatchObject({ paused: false, frequency: { effectiveMinutes: 60, overrideMinutes: null } });
    // b is untouched.
    expect((await stateOf(acct))[1]).toMatchObject({ frequency: { overrideMinutes: null }, paused: false });

    for (const bad of [{}, { frequencyMinutes: 1 }, { frequencyMinutes: 1.5 }, { paused: 'yes' }, { frequencyMinutes: 30, extra: 1 }]) {
      const res = await api(acct, 'PUT', url, bad);
      expect([res.statusCode, res.json().code], JSON.stringify(bad)).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await api(acct, 'PUT', `/api/syncs/${a.connectionId}/products/schedule`, { paused: true })).json().code).toBe('NOT_FOUND');
    // Each change is in the audit log (3 accepted above; the refused ones wrote nothing).
    const audit = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('audit_logs').select(['action', 'entity_id', 'metadata']).where('action', '=', 'sync_schedules.update').orderBy('seq').execute());
    expect(audit.map((e) => [e.entity_id, e.metadata])).toEqual([
      [a.connectionId, { sync: 'orders', frequencyMinutes: 15, paused: false }],
      [a.connectionId, { sync: 'orders', frequencyMinutes: 15, paused: true }],
      [a.connectionId, { sync: 'orders', frequencyMinutes: null, paused: false }],
    ]);
  });

  it('who may: a member reads the state but cannot change a schedule; a key needs syncs:run to change it and records:read to read it; another tenant gets 404', async () => {
    const acct = await signup(h.t.app);
    const { connectionId } = await shopifyStore(h, acct);
    const url = `/api/syncs/${connectionId}/orders/schedule`;
    const member = await addMember(h.t.app, acct, 'member');
    expect(await stateOf(member)).toHaveLength(1);
    expect((await api(member, 'PUT', url, { paused: true })).json().code).toBe('FORBIDDEN');
    const runner = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    const reader = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['records:read'] })).key;
    expect((await api(runner, 'PUT', url, { paused: true })).statusCode).toBe(200);
    expect((await api(reader, 'PUT', url, { paused: false })).json().code).toBe('FORBIDDEN');
    expect((await api(runner, 'GET', '/api/syncs')).json().code).toBe('FORBIDDEN');
    expect(await stateOf(reader)).toMatchObject([{ connectionId, paused: true }]);

    const other = await signup(h.t.app);
    const res = await api(other, 'PUT', url, { paused: false });
    expect([res.statusCode, res.json().code]).toEqual([404, 'NOT_FOUND']);
    expect(await stateOf(other)).toEqual([]);
    expect((await schedulesOf(h, acct))[0]!.paused).toBe(true);
  });

  it('the scheduler queues due runs with trigger schedule, each (connection, sync) once per its frequency; a paused one and an override are respected', async () => {
    const acct = await signup(h.t.app);
    // The clock moves hours below: a key, which does not expire like a person's access token.
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run', 'records:read'] })).key;
    const [a, b, c] = [await shopifyStore(h, acct, 120, 'a'), await shopifyStore(h, acct, 120, 'b'), await shopifyStore(h, acct, 120, 'c')];
    expect((await api(acct, 'PUT', `/api/syncs/${b.connectionId}/orders/schedule`, { paused: true })).statusCode).toBe(200);
    expect((await api(acct, 'PUT', `/api/syncs/${c.connectionId}/orders/schedule`, { frequencyMinutes: 15 })).statusCode).toBe(200);
    queued.length = 0;
    await svc().tick();
    const first = mine(acct);
    expect(first.map((q) => [q.connectionId, q.trigger]).sort()).toEqual([[a.connectionId, 'schedule'], [c.connectionId, 'schedule']].sort());
    expect(first.every((q) => typeof q.dueAt === 'string')).toBe(true);
    // Claimed: not queued again until its next time; c (every 15 min) is due again first, but not
    // while its run is still in flight.
    queued.length = 0;
    await svc().tick();
    expect(mine(acct)).toEqual([]);
    h.t.clock.advance(16 * 60_000);
    await svc().tick();
    expect(mine(acct)).toEqual([]);
    for (const q of first) await svc().release(q);
    await svc().tick();
    expect(mine(acct).map((q) => q.connectionId)).toEqual([c.connectionId]);
    await svc().release(mine(acct)[0]!);
    h.t.clock.advance(45 * 60_000);
    queued.length = 0;
    await svc().tick();
    const inFlight = mine(acct);
    expect(inFlight.map((q) => q.connectionId).sort()).toEqual([a.connectionId, c.connectionId].sort());
    for (const q of inFlight) await svc().release(q);
    // The state shows the schedule's next run and the scheduled run once it ran.
    const ran = await svc().run({ ...inFlight[0]!, attempt: 1 });
    expect(ran).toMatchObject({ status: 'succeeded', added: 120 });
    const row = (await stateOf(key)).find((s) => s.connectionId === inFlight[0]!.connectionId)!;
    expect(row.lastRun).toMatchObject({ id: ran.id, status: 'succeeded', trigger: 'schedule', errorCode: null });
    expect(row.lastSuccessAt).toEqual(expect.any(String));
    const history = (await api(key, 'GET', `/api/syncs/runs?connection=${row.connectionId}`)).json().data;
    expect(history[0]).toMatchObject({ trigger: 'schedule', attempt: 1, dueAt: inFlight[0]!.dueAt });
  });

  it('two nodes ticking at the same moment queue each due (connection, sync) once', async () => {
    const acct = await signup(h.t.app);
    const stores = [];
    for (let i = 0; i < 8; i++) stores.push(await shopifyStore(h, acct, 120, `s${i}`));
    const db2 = createDb({ url: h.scratch!.appUrl, poolMax: 4, log: silentLogger() });
    const node2 = nodeServices(db2, testRing(), h.t.clock, oauthOptions(h.sandbox));
    const onNode2: RunRequest[] = [];
    node2.syncs.useQueue(async (req) => { onNode2.push(req); });
    try {
      for (let round = 0; round < 10; round++) {
        queued.length = 0;
        onNode2.length = 0;
        await Promise.all([svc().tick(), node2.syncs.tick(), svc().tick(), node2.syncs.tick(), svc().tick(), node2.syncs.tick()]);
        const all = [...mine(acct), ...onNode2.filter((q) => q.tenantId === acct.tenantId)];
        expect(all.map((q) => q.connectionId).sort(), `round ${round}`).toEqual(stores.map((s) => s.connectionId).sort());
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
    expect((await stateOf(key)).find((s) => s.connectionId === connectionId)).toMatchObject({ pausedReason: 'needs_reauth', nextRunAt: null });
    const next = await enrolMfa(h.t.app, h.t.clock, acct);
    const manual = await api(acct, 'POST', `/api/syncs/${connectionId}/orders/run`, undefined, { 'x-mfa-code': await next() });
    expect([manual.statusCode, manual.json().code]).toEqual([409, 'INTEGRATION_NEEDS_REAUTH']);
    queued.length = 0;
    h.t.clock.advance(2 * 3_600_000);
    await svc().tick();
    expect(mine(acct).map((q) => q.connectionId)).toEqual([other.connectionId]);
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
    const resumed = (await stateOf(key)).find((s) => s.connectionId === connectionId)!;
    expect(resumed).toMatchObject({ pausedReason: null, paused: false });
    expect(new Date(resumed.nextRunAt).getTime()).toBeLessThanOrEqual(h.t.clock().getTime());
    queued.length = 0;
    await svc().tick();
    expect(mine(acct).map((q) => q.connectionId)).toEqual([connectionId]);
    expect(await svc().run(mine(acct)[0]!)).toMatchObject({ status: 'succeeded', added: 120 });
    await svc().release(mine(acct)[0]!);

    // connection.recovered resumes too; a person's pause survives Keyhold's pause and resume.
    expect((await api(key, 'PUT', `/api/syncs/${connectionId}/orders/schedule`, { paused: true })).statusCode).toBe(200);
    await transitionTo(h, acct, connectionId, 'needs_reauth', 'needs_reauth');
    await transitionTo(h, acct, connectionId, 'active', 'recovered');
    expect((await stateOf(key)).find((s) => s.connectionId === connectionId)).toMatchObject({ pausedReason: null, paused: true, nextRunAt: null });
  });

  it('run-all queues every sync of every usable connection (202 with the count); people need X-MFA-Code, keys syncs:run', async () => {
    const acct = await signup(h.t.app);
    const [a, b, c] = [await shopifyStore(h, acct, 120, 'a'), await shopifyStore(h, acct, 120, 'b'), await shopifyStore(h, acct, 120, 'c')];
    await transitionTo(h, acct, c.connectionId, 'needs_reauth', 'needs_reauth');
    expect((await api(acct, 'POST', '/api/syncs/run-all')).statusCode).toBe(403);
    const next = await enrolMfa(h.t.app, h.t.clock, acct);
    queued.length = 0;
    const res = await api(acct, 'POST', '/api/syncs/run-all', undefined, { 'x-mfa-code': await next() });
    expect([res.statusCode, res.json().data]).toEqual([202, { queued: 2 }]);
    expect(mine(acct).map((q) => [q.connectionId, q.sync, q.trigger]).sort()).toEqual([[a.connectionId, 'orders', 'manual'], [b.connectionId, 'orders', 'manual']].sort());
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    expect((await api(key, 'POST', '/api/syncs/run-all')).json().data).toEqual({ queued: 2 });
    const reader = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['records:read'] })).key;
    expect((await api(reader, 'POST', '/api/syncs/run-all')).json().code).toBe('FORBIDDEN');
    const audit = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('audit_logs').select(['actor_type', 'metadata']).where('action', '=', 'syncs.run_all').orderBy('seq').execute());
    expect(audit.map((e) => [e.actor_type, e.metadata])).toEqual([['user', { queued: 2 }], ['api_key', { queued: 2 }]]);
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
      const rows = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('events').select('dispatched_at').where('type', '=', 'connection.changed').orderBy('id', 'desc').limit(1).execute());
      dispatchedWhenQueued.push(rows[0]?.dispatched_at ?? null);
    });
    try {
      failDrain = true;
      await changed();
      queued.length = 0;
      await h.t.services.events.drain();
      expect(mine(acct)).toEqual([]);
      failDrain = false;
      await h.t.services.events.drain();
      await new Promise((r) => setTimeout(r, 50));
      expect(mine(acct)).toEqual([{ tenantId: acct.tenantId, connectionId, sync: 'orders', trigger: 'webhook', mode: 'incremental' } satisfies RunRequest]);
      expect(dispatchedWhenQueued).toHaveLength(1);
      expect(dispatchedWhenQueued[0]).toBeInstanceOf(Date);
    } finally {
      failDrain = false;
      h.t.services.syncs.useQueue(async (req) => { queued.push(req); });
    }
  });
});

