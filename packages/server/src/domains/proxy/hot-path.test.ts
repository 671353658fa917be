import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import type { Provider } from '../catalog/catalog.js';
import type { InUse } from '../connections/connections.service.js';
import { providerTarget } from './prepared.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

/** Counts the statements this process sends that match `pattern` (the real statements, to the real database). */
function countStatements(pattern: RegExp) {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  const seen = { count: 0 };
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    if (text && pattern.test(text)) seen.count++;
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  restore = () => {
    pg.Client.prototype.query = query as typeof pg.Client.prototype.query;
  };
  return seen;
}
let restore: (() => void) | undefined;
afterEach(() => restore?.());

async function tenantWithStripeKey() {
  const owner = await signup(t.app);
  const saved = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken), payload: { serviceName: 'stripe', apiKey: `sk_test_${crypto.randomUUID().replaceAll('-', '')}` } });
  expect(saved.statusCode, saved.body).toBe(201);
  const key = (await createApiKey(t.app, t.clock, owner, { name: 'svc', scopes: ['credentials:read', 'proxy'], role: 'member' })).key;
  return { owner, key };
}
const read = (key: string) => t.app.inject({ method: 'GET', url: '/api/connections/stripe/credentials', headers: bearer(key) });

describe('hot path: a burst of parallel calls shares its database round trips', () => {
  it("a new API key's first burst is verified with one transaction, not one per call", async () => {
    const { key } = await tenantWithStripeKey();
    const touches = countStatements(/update "api_keys" set "last_used_at"/i);
    const burst = await Promise.all(Array.from({ length: 20 }, () => read(key)));
    expect(burst.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(touches.count).toBe(1);
  });

  it('a warm connection due for its once-a-second check is checked once for the whole burst', async () => {
    const { key } = await tenantWithStripeKey();
    expect((await read(key)).statusCode).toBe(200); // now warm
    t.clock.advance(1500);
    const checks = countStatements(/from connections where tenant_id = /);
    const burst = await Promise.all(Array.from({ length: 20 }, () => read(key)));
    expect(burst.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(checks.count).toBe(1);
  });

  it('a burst that finds the connection cold (its minute in memory is over) reads and decrypts it once', async () => {
    const { key } = await tenantWithStripeKey();
    expect((await read(key)).statusCode).toBe(200); // now warm
    t.clock.advance(61_000);
    const coldReads = countStatements(/from "connections" where "provider" = \$1 and "label" = \$2/);
    const burst = await Promise.all(Array.from({ length: 20 }, () => read(key)));
    expect(burst.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(coldReads.count).toBe(1);
  });

  it('a revoked key is refused at once even while other calls with it are in flight', async () => {
    const { owner, key } = await tenantWithStripeKey();
    const keys = await t.app.inject({ method: 'GET', url: '/api/api-keys', headers: bearer(owner.accessToken) });
    const id = (keys.json().data as Array<{ id: string; name: string }>).find((k) => k.name === 'svc')!.id;
    const burst = Promise.all(Array.from({ length: 10 }, () => read(key)));
    expect((await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${id}`, headers: bearer(owner.accessToken) })).statusCode).toBeLessThan(300);
    await burst;
    expect((await read(key)).statusCode).toBe(401);
  });
});

describe('prepared provider requests', () => {
  const provider = (): Provider => t.services.catalog.get('custom');
  const conn = (version: number, secrets: Record<string, string>, config: Record<string, string>, updatedAt = new Date(1_000 * version)): InUse =>
    ({ row: { id: '00000000-0000-4000-8000-000000000001', credential_version: version, updated_at: updatedAt, config }, secrets }) as unknown as InUse;
  const config = { baseUrl: 'https://api.example.com/v2', headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}' };

  it('a new credential version is injected at once, never the headers prepared for the old one', () => {
    const first = providerTarget(provider(), conn(1, { apiKey: 'old-key' }, config), '/v1/me', {});
    expect(first).toMatchObject({ url: 'https://api.example.com/v2/v1/me', headers: { authorization: 'Bearer old-key' } });
    expect(providerTarget(provider(), conn(2, { apiKey: 'new-key' }, config), '/v1/me', {}).headers.authorization).toBe('Bearer new-key');
  });

  it('the same decrypted secrets with a changed config (a later row) use the new config', () => {
    const secrets = { apiKey: 'k' };
    expect(providerTarget(provider(), conn(1, secrets, config), '/x', {}).headers.authorization).toBe('Bearer k');
    const moved = providerTarget(provider(), conn(1, secrets, { ...config, baseUrl: 'https://other.example.com', headerName: 'X-Api-Key', headerTemplate: '{{apiKey}}' }, new Date(5_000)), '/x', {});
    expect(moved.url).toBe('https://other.example.com/x');
    expect(moved.headers['x-api-key']).toBe('k');
    expect(moved.headers.authorization).toBeUndefined();
  });

  it("a client's headers never replace the injected credential, and a path cannot leave the base URL", () => {
    const c = conn(1, { apiKey: 'k' }, config);
    expect(providerTarget(provider(), c, '/v1/me', { authorization: 'Bearer client', 'x-trace': 't' }).headers).toMatchObject({ authorization: 'Bearer k', 'x-trace': 't' });
    expect(() => providerTarget(provider(), c, '@evil.example.com/', {})).toThrow(/leaves the provider's API|valid/);
    expect(() => providerTarget(provider(), conn(1, { apiKey: 'k' }, { ...config, baseUrl: 'https://api.example.com/v2' }), '/../v3', {})).toThrow(/leaves the provider's API/);
  });
});
