import { randomBytes } from 'node:crypto';
import { Keyhold, KeyholdError, type SyncedRecord } from '@keyhold/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';

/** `keyhold.records` against a running Keyhold whose Shopify store was synced from the sandbox. */
let h: Awaited<ReturnType<typeof oauthHarness>>;
let baseUrl: string;
beforeAll(async () => {
  h = await oauthHarness();
  baseUrl = await h.t.app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);
afterAll(() => h.close());

async function syncedStore(acct: Account, count: number) {
  const store = `sdk-${randomBytes(5).toString('hex')}.myshopify.com`;
  const token = `shpat_${randomBytes(12).toString('hex')}`;
  h.sandbox.seed('shopify', { accessToken: token, storeDomain: store });
  h.sandbox.shopifyOrders.grow(store, count);
  const res = await h.t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: 'shopify', apiKey: token, additionalConfig: { storeDomain: store } },
  });
  const connectionId = res.json().data.id as string;
  const run = await h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync: 'orders', trigger: 'manual' });
  expect(run.status).toBe('succeeded');
  return { store, connectionId };
}

const keyFor = async (acct: Account, scopes: string[]) =>
  new Keyhold({ baseUrl, apiKey: (await createApiKey(h.t.app, h.t.clock, acct, { name: 'records', scopes })).key });

describe('@keyhold/sdk records', () => {
  it('iterate() reads every record page by page; list() resumes from a stored cursor with only what changed since', async () => {
    const acct = await signup(h.t.app);
    const { store, connectionId } = await syncedStore(acct, 230);
    const keyhold = await keyFor(acct, ['records:read']);

    const seen: SyncedRecord[] = [];
    for await (const r of keyhold.records.iterate('shopify_orders', { limit: 50 })) seen.push(r);
    expect(seen).toHaveLength(230);
    expect(new Set(seen.map((r) => r.externalId)).size).toBe(230);
    expect(seen.every((r) => r.connectionId === connectionId && r.model === 'shopify_orders')).toBe(true);
    const cursors = seen.map((r) => BigInt(r.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

    const first = await keyhold.records.list('shopify_orders', { limit: 500 });
    expect(first.records).toHaveLength(230);
    expect(first.cursor.hasMore).toBe(false);
    const saved = first.cursor.next;
    const idle = await keyhold.records.list('shopify_orders', { cursor: saved });
    expect(idle).toEqual({ records: [], cursor: { next: saved, hasMore: false } });

    const changedId = Number(seen[7]!.externalId);
    expect(h.sandbox.shopifyOrders.update(store, changedId, new Date())).toBe(true);
    await h.t.services.syncs.run({ tenantId: acct.tenantId, connectionId, sync: 'orders', trigger: 'manual' });
    const since = [];
    for await (const r of keyhold.records.iterate('shopify_orders', { cursor: saved, connection: connectionId })) since.push(r);
    expect(since.map((r) => r.externalId)).toEqual([String(changedId)]);
  });

  it("another tenant's key reads none of these records, and a key without records:read is refused", async () => {
    const owner = await signup(h.t.app);
    await syncedStore(owner, 120);
    const other = await signup(h.t.app);
    const theirs = await keyFor(other, ['records:read']);
    expect((await theirs.records.list('shopify_orders')).records).toEqual([]);

    const narrow = await keyFor(owner, ['credentials:read']);
    const refused = await narrow.records.list('shopify_orders').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeyholdError);
    expect(refused).toMatchObject({ status: 403 });
    const iterated = narrow.records.iterate('shopify_orders').next();
    await expect(iterated).rejects.toMatchObject({ status: 403 });
  });
});
