import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { type Account, addMember, bearer, createApiKey, enrolMfa, signup } from '../../test-support/accounts.js';
import { ledger } from '../../test-support/events.js';
import { testApp } from '../../test-support/index.js';

let sandbox: Sandbox;
let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  sandbox = await createSandbox();
  t = await testApp({ providerBaseUrls: Object.fromEntries(['stripe', 'xero'].map((id) => [id, sandbox.baseUrlFor(id)])) });
});
afterAll(async () => {
  await t.close();
  await sandbox.close();
});

const stripeKey = (tag = crypto.randomUUID().replaceAll('-', '')) => `sk_test_${tag}`;
const call = (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method, url, headers: { ...bearer(token), ...headers }, ...(payload ? { payload } : {}) });
const events = (token: string, qs = '') => call(token, 'GET', `/api/events${qs}`);
const connect = async (acct: Account, label: string) => {
  const res = await call(acct.accessToken, 'POST', '/api/api-credentials?verify=false', { serviceName: 'stripe', label, apiKey: stripeKey() });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data.id as string;
};

describe('GET /api/events', () => {
  it('pages newest first, filters by type and since, and shows a tenant only its own events', async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const first = await connect(a, 'one');
    await connect(a, 'two');
    t.clock.advance(60_000);
    const since = t.clock().toISOString();
    await connect(a, 'three');
    await call(a.accessToken, 'PUT', `/api/api-credentials/${first}`, { isActive: false });

    const page1 = await events(a.accessToken, '?limit=3');
    expect(page1.statusCode, page1.body).toBe(200);
    expect(page1.json().pagination).toEqual({ page: 1, limit: 3, total: 4, totalPages: 2, hasMore: true });
    expect(page1.json().data.map((e: { type: string }) => e.type)).toEqual(['connection.updated', 'connection.created', 'connection.created']);
    expect(page1.json().data[0]).toMatchObject({ subject: { connectionId: first, provider: 'stripe', label: 'one' }, payload: { change: 'disabled', from: 'active', to: 'disabled', source: 'credentials', by: { type: 'user', id: a.userId } } });
    const page2 = await events(a.accessToken, '?limit=3&page=2');
    expect(page2.json().data.map((e: { subject: { label: string } }) => e.subject.label)).toEqual(['one']);

    expect((await events(a.accessToken, '?type=connection.updated')).json().pagination.total).toBe(1);
    const recent = (await events(a.accessToken, `?since=${encodeURIComponent(since)}`)).json();
    expect(recent.data.map((e: { subject: { label: string } }) => e.subject.label)).toEqual(['one', 'three']);

    const other = await events(b.accessToken);
    expect([other.statusCode, other.json().data, other.json().pagination.total]).toEqual([200, [], 0]);
    expect(other.body).not.toContain(first);
  });

  it("?connection= is one connection's timeline: only its events, none of another tenant's connection", async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const one = await connect(a, 'one');
    const two = await connect(a, 'two');
    await call(a.accessToken, 'PUT', `/api/api-credentials/${one}`, { isActive: false });
    const theirs = await connect(b, 'theirs');

    const timeline = (await events(a.accessToken, `?connection=${one}`)).json();
    expect(timeline.data.map((e: { type: string; subject: { connectionId: string } }) => [e.type, e.subject.connectionId]))
      .toEqual([['connection.updated', one], ['connection.created', one]]);
    expect(timeline.pagination.total).toBe(2);
    expect((await events(a.accessToken, `?connection=${two}&type=connection.updated`)).json().pagination.total).toBe(0);
    const foreign = (await events(a.accessToken, `?connection=${theirs}`)).json();
    expect([foreign.data, foreign.pagination.total]).toEqual([[], 0]);
    const bad = await events(a.accessToken, '?connection=not-a-uuid');
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('admin and up; a key needs events:read; bad filters are a 400 naming the field', async () => {
    const a = await signup(t.app);
    await connect(a, 'default');
    for (const role of ['member', 'viewer']) expect((await events(await addMember(t.app, a, role))).statusCode).toBe(403);
    expect((await events(await addMember(t.app, a, 'admin'))).statusCode).toBe(200);
    const reader = await createApiKey(t.app, t.clock, a, { role: 'admin', scopes: ['events:read'] });
    expect((await events(reader.key)).json().pagination.total).toBe(1);
    const auditor = await createApiKey(t.app, t.clock, a, { role: 'admin', scopes: ['audit:read'] });
    expect((await events(auditor.key)).statusCode).toBe(403);
    for (const qs of ['?type=connection.exploded', '?since=yesterday', '?limit=501']) {
      const res = await events(a.accessToken, qs);
      expect([res.statusCode, res.json().code], qs).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});

describe('events never carry a secret', () => {
  it('a canary planted in every secret of every write path is in no event, no connection event and no answer', async () => {
    const acct = await signup(t.app);
    const code = await enrolMfa(t.app, t.clock, acct);
    const canary = (what: string) => `CANARY${what}${crypto.randomUUID().replaceAll('-', '')}`;
    const planted: string[] = [];
    const plant = (what: string) => {
      const c = canary(what);
      planted.push(c);
      return c;
    };
    // Credentials API: create with every secret field, rotate, redirect-free edits, test, disable, delete.
    // Saved verified, so the verify request is one of the paths the canary travels.
    const apiKey = stripeKey(plant('key'));
    sandbox.seed('stripe', { apiKey });
    const created = await call(acct.accessToken, 'POST', '/api/api-credentials', {
      serviceName: 'stripe', apiKey, additionalConfig: { webhookSecret: `whsec_${plant('hook')}` },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().data.id as string;
    const url = `/api/api-credentials/${id}`;
    expect((await call(acct.accessToken, 'PUT', `${url}?verify=false`, { apiKey: stripeKey(plant('rotated')) }, { 'x-mfa-code': await code() })).statusCode).toBe(200);
    await call(acct.accessToken, 'POST', `${url}/test`);
    await call(acct.accessToken, 'PUT', url, { isActive: false });
    await call(acct.accessToken, 'PUT', url, { isActive: true });
    expect((await call(acct.accessToken, 'DELETE', url, undefined, { 'x-mfa-code': await code() })).statusCode).toBe(200);
    // OAuth: tokens saved, reconnected, refreshed state changes, disconnected.
    const xero = t.services.catalog.get('xero');
    const account = { id: crypto.randomUUID(), name: 'Acme Ltd', config: { xeroTenantId: crypto.randomUUID() } };
    const saved = await t.services.authorize.saveAccount({ tenantId: acct.tenantId, actor: systemActor }, xero, 'default', account, { accessToken: plant('access'), refreshToken: plant('refresh'), expiresIn: 1800 });
    await t.services.authorize.saveAccount({ tenantId: acct.tenantId, actor: systemActor }, xero, 'default', account, { accessToken: plant('access2'), refreshToken: plant('refresh2'), expiresIn: 1800 });
    await t.services.connections.setHealth(acct.tenantId, saved.id, false);
    await t.services.connections.setHealth(acct.tenantId, saved.id, true);
    // The canaries are really there to be copied: the connection holds them (encrypted) until the disconnect.
    const held = await t.db.withTenant(acct.tenantId, async (tx) => t.services.store.secretsOf(tx, (await t.services.store.byId(tx, saved.id))!));
    expect(Object.values(held)).toEqual(expect.arrayContaining([planted.at(-1), planted.at(-2)]));
    expect((await call(acct.accessToken, 'POST', `/api/integrations/${saved.id}/disconnect`, undefined, { 'x-mfa-code': await code() })).statusCode).toBe(200);

    const l = await ledger(acct.tenantId);
    expect(l.events.length).toBeGreaterThanOrEqual(10);
    const stored = JSON.stringify([l.events, l.changes]);
    const api = (await events(acct.accessToken, '?limit=500')).body;
    for (const c of planted) {
      expect(stored.includes(c), `stored events contain ${c.slice(0, 12)}…`).toBe(false);
      expect(api.includes(c), `GET /api/events contains ${c.slice(0, 12)}…`).toBe(false);
    }
  });
});
