import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApiKey, enrolMfa, signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import type { TenantPrincipal } from '../identity/principal.js';
import { createWarmCache } from './warm-cache.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const COLD_READ = /from "connections" where "provider" = \$1 and "label" = \$2/;

/**
 * Holds back the result of the next cold read of a connection (the real statement, to the real
 * database) until `release()`: `issued` resolves once the statement has been sent.
 */
function holdNextColdRead() {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  let release!: () => void;
  let issued!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const sent = new Promise<void>((r) => { issued = r; });
  let held = false;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    const result = query.apply(this, args);
    if (held || !text || !COLD_READ.test(text) || !(result instanceof Promise)) return result;
    held = true;
    issued();
    return result.then(async (rows) => {
      await gate;
      return rows;
    });
  } as typeof pg.Client.prototype.query;
  restore = () => {
    release();
    pg.Client.prototype.query = query as typeof pg.Client.prototype.query;
  };
  return { issued: sent, release };
}
/**
 * Holds back the COMMIT of the next transaction that writes new secrets to a connection, until
 * `release()`: `written` resolves once the row is written (and still uncommitted).
 */
function holdNextRotationCommit() {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  let release!: () => void;
  let wrote!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const written = new Promise<void>((r) => { wrote = r; });
  let writer: pg.Client | undefined;
  let held = false;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    if (!held && !writer && text && /^update "connections" set "secrets"/.test(text)) writer = this;
    if (!held && this === writer && text?.trim().toLowerCase() === 'commit') {
      held = true;
      wrote();
      return gate.then(() => query.apply(this, args));
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  restore = () => {
    release();
    pg.Client.prototype.query = query as typeof pg.Client.prototype.query;
  };
  return { written, release };
}
let restore: (() => void) | undefined;
afterEach(() => restore?.());

describe('warm connections after a change on this node', () => {
  it('a cold read begun before a rotation never puts the old secret back: a call after the rotation gets the new one', async () => {
    const owner = await signup(t.app);
    const saved = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken), payload: { serviceName: 'stripe', apiKey: 'sk_test_old0000000000000000000000' } });
    expect(saved.statusCode, saved.body).toBe(201);
    const key = (await createApiKey(t.app, t.clock, owner, { name: 'svc', scopes: ['credentials:read'], role: 'member' })).key;
    const read = async () => (await t.app.inject({ method: 'GET', url: '/api/connections/stripe/credentials', headers: bearer(key) })).json().data.credentials.apiKey as string;
    const code = await enrolMfa(t.app, t.clock, owner);
    expect(await read()).toContain('old'); // now warm
    t.clock.advance(61_000); // its minute in memory is over: the next read is cold
    const mfa = await code();

    const slow = holdNextColdRead();
    const a = read(); // reads the old row, its answer held back
    await slow.issued;
    const rotated = await t.app.inject({ method: 'PUT', url: `/api/api-credentials/${saved.json().data.id}?verify=false`, headers: { ...bearer(owner.accessToken), 'x-mfa-code': mfa }, payload: { apiKey: 'sk_test_new0000000000000000000000' } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(await read()).toContain('new');
    slow.release();
    expect(await a).toContain('old'); // began before the rotation
    expect(await read()).toContain('new');
  });

  it("a cold read between a rotation's write and its commit is not kept: a call after the commit gets the new secret", async () => {
    const owner = await signup(t.app);
    const saved = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken), payload: { serviceName: 'stripe', apiKey: 'sk_test_old0000000000000000000000' } });
    expect(saved.statusCode, saved.body).toBe(201);
    const key = (await createApiKey(t.app, t.clock, owner, { name: 'svc', scopes: ['credentials:read'], role: 'member' })).key;
    const read = async () => (await t.app.inject({ method: 'GET', url: '/api/connections/stripe/credentials', headers: bearer(key) })).json().data.credentials.apiKey as string;
    const mfa = await (await enrolMfa(t.app, t.clock, owner))();
    expect(await read()).toContain('old');

    const commit = holdNextRotationCommit();
    const rotating = t.app.inject({ method: 'PUT', url: `/api/api-credentials/${saved.json().data.id}?verify=false`, headers: { ...bearer(owner.accessToken), 'x-mfa-code': mfa }, payload: { apiKey: 'sk_test_new0000000000000000000000' } });
    await commit.written;
    expect(await read()).toContain('old'); // the rotation is not committed yet
    commit.release();
    expect((await rotating).statusCode).toBe(200);
    expect(await read()).toContain('new');
  });
});

describe('a burst that shares a cold read', () => {
  it('audits each action: a machine read joining a proxy use of the same key is recorded too', async () => {
    const owner = await signup(t.app);
    const saved = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken), payload: { serviceName: 'stripe', apiKey: 'sk_test_burst000000000000000000000' } });
    expect(saved.statusCode, saved.body).toBe(201);
    const { id } = await createApiKey(t.app, t.clock, owner, { name: 'svc', scopes: ['credentials:read', 'proxy'], role: 'member' });
    const p: TenantPrincipal = { tenantId: owner.tenantId, role: 'member', scopes: ['credentials:read', 'proxy'], actor: { type: 'api_key', id } };
    const stripe = t.services.catalog.get('stripe');

    // The connection was never used: the whole burst finds it cold.
    await Promise.all([
      ...Array.from({ length: 5 }, () => t.services.connections.forUse(p, stripe, 'default', 'proxy.use')),
      ...Array.from({ length: 5 }, () => t.services.connections.readForMachine(p, 'stripe')),
    ]);
    const actions = await t.db.withTenant(owner.tenantId, (tx) =>
      tx.selectFrom('audit_logs').select('action').where('entity_id', '=', saved.json().data.id).where('actor_id', '=', id).execute());
    expect(actions.map((a) => a.action).sort()).toEqual(['api_credentials.machine_read', 'proxy.use']);
  });
});

describe('warm cache versions', () => {
  it("a connection's version only grows, also once its change is forgotten to stay within bounds", () => {
    const warm = createWarmCache(2);
    const key = warm.keyOf('t', 'stripe', 'default');
    const before = warm.versionOf(key);
    warm.invalidate('t', 'stripe', 'default');
    const changed = warm.versionOf(key);
    expect(changed).toBeGreaterThan(before);
    warm.invalidate('t', 'stripe', 'eu');
    warm.invalidate('t', 'stripe', 'us'); // more connections changed than remembered: the first is forgotten
    expect(warm.versionOf(key)).toBeGreaterThanOrEqual(changed);
    expect(warm.versionOf(warm.keyOf('t', 'stripe', 'never-changed'))).toBeGreaterThanOrEqual(changed);
  });
});
