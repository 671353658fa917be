import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import type { TenantTx } from '../../platform/db/tenancy.js';
import { ledger } from '../../test-support/events.js';
import { testDb, testServices } from '../../test-support/index.js';
import type { Tenant } from '../tenants/tenants.service.js';
import type { ConnectionRow } from './connections.repo.js';
import type { EventDetail } from './store.js';

const db = testDb();
const services = testServices(db);
const { store, catalog } = services;
let tenant: Tenant;
beforeAll(async () => {
  tenant = await services.newTenant('store');
});
afterAll(() => db.close());

const by: EventDetail = { source: 'credentials', by: { type: 'system', id: null } };
const shop = () => `s-${crypto.randomUUID().slice(0, 8)}.myshopify.com`;
class Rollback extends Error {}

/** A committed Shopify connection to change. */
const connection = () =>
  db.withTenant(tenant.id, (tx) =>
    store.create(tx, { tenantId: tenant.id, provider: catalog.get('shopify'), label: `l-${crypto.randomUUID().slice(0, 8)}`, secrets: { accessToken: 'shpat_old' }, config: { storeDomain: shop() }, status: 'active', createdBy: null }, by));

/** Runs `change` in a tenant transaction that then fails, as a crash or a later error would. */
async function failingAfter(change: (tx: TenantTx) => Promise<unknown>) {
  await expect(db.withTenant(tenant.id, async (tx) => {
    await change(tx);
    throw new Rollback('the transaction fails after the write');
  })).rejects.toBeInstanceOf(Rollback);
}

const snapshot = async (id: string) => {
  const l = await ledger(tenant.id);
  const row = await db.withTenant(tenant.id, (tx) => store.byId(tx, id));
  return { changes: l.changes.length, events: l.events.length, row };
};

describe('connection store: a change, its connection event and its outbox event are one transaction', () => {
  const paths: Array<[string, (tx: TenantTx, conn: ConnectionRow) => Promise<unknown>]> = [
    ['transition (degraded)', (tx, c) => store.transition(tx, c, 'degraded', { reason: 'degraded', detail: { source: 'proxy' } })],
    ['transition (needs_reauth)', (tx, c) => store.transition(tx, c, 'needs_reauth', { reason: 'needs_reauth', detail: { source: 'refresh', error: 'invalid_grant' } })],
    ['update (rotation)', (tx, c) => store.update(tx, c, { secrets: { accessToken: 'shpat_new' } }, { reason: 'rotated', detail: { ...by, fields: ['accessToken'] } })],
    ['update (config, routing key)', (tx, c) => store.update(tx, c, { config: { storeDomain: shop() } }, { reason: 'destination_changed', detail: { ...by, fields: ['storeDomain'] } })],
    ['disconnect', (tx, c) => store.disconnect(tx, c, { source: 'oauth', revocation: 'revoked' })],
    ['remove', (tx, c) => store.remove(tx, c, { ...by, revocation: 'not_supported' })],
  ];
  for (const [name, change] of paths) {
    it(`${name}: when the transaction fails after it, neither event exists and the row is unchanged`, async () => {
      const conn = await connection();
      const before = await snapshot(conn.id);
      await failingAfter((tx) => change(tx, conn));
      expect(await snapshot(conn.id)).toEqual(before);
      // The same change committed writes exactly one of each, in the transaction that wrote the row.
      await db.withTenant(tenant.id, (tx) => change(tx, conn));
      const after = await ledger(tenant.id);
      const [c, e] = [after.changes.slice(before.changes), after.events.slice(before.events)];
      expect([c.length, e.length]).toEqual([1, 1]);
      expect(e[0]!.tx).toBe(c[0]!.tx);
      const row = after.rows.find((r) => r.id === conn.id);
      if (name === 'remove') expect(row).toBeUndefined();
      else expect(row!.tx).toBe(c[0]!.tx);
    });
  }

  it('create: when the transaction fails after it, there is no connection, no connection event and no outbox event', async () => {
    const before = await ledger(tenant.id);
    const domain = shop();
    await failingAfter((tx) => store.create(tx, { tenantId: tenant.id, provider: catalog.get('shopify'), label: 'rolled-back', secrets: { accessToken: 'shpat_x' }, config: { storeDomain: domain }, status: 'active', createdBy: null }, by));
    const after = await ledger(tenant.id);
    expect([after.changes.length, after.events.length, after.rows.length]).toEqual([before.changes.length, before.events.length, before.rows.length]);
    // Its routing key was never taken.
    const other = await services.newTenant('store-other');
    await db.withTenant(other.id, (tx) => store.create(tx, { tenantId: other.id, provider: catalog.get('shopify'), label: 'default', secrets: { accessToken: 'shpat_y' }, config: { storeDomain: domain }, status: 'active', createdBy: null }, by));
  });

  it('a payload the contract does not list (where a secret could hide) aborts the whole change', async () => {
    const conn = await connection();
    const before = await snapshot(conn.id);
    const leaky = { source: 'proxy', apiKey: 'shpat_canary' } as unknown as EventDetail;
    await expect(db.withTenant(tenant.id, (tx) => store.transition(tx, conn, 'degraded', { reason: 'degraded', detail: leaky }))).rejects.toThrow(/apiKey|Unrecognized/);
    expect(await snapshot(conn.id)).toEqual(before);
  });

  it('asking for the status a connection already has records nothing; another reason always records', async () => {
    const conn = await connection();
    const before = await snapshot(conn.id);
    await db.withTenant(tenant.id, (tx) => store.transition(tx, conn, 'active', { reason: 'recovered', detail: { source: 'proxy' } }));
    expect(await snapshot(conn.id)).toEqual(before);
    await db.withTenant(tenant.id, (tx) => store.transition(tx, conn, 'active', { reason: 'updated', detail: by }));
    expect((await snapshot(conn.id)).changes).toBe(before.changes + 1);
  });

  it('onlyFrom and a lost refresh lease write nothing', async () => {
    const conn = await connection();
    const before = await snapshot(conn.id);
    await db.withTenant(tenant.id, async (tx) => {
      expect(await store.transition(tx, conn, 'degraded', { reason: 'degraded', detail: { source: 'proxy' }, onlyFrom: ['error'] })).toBeUndefined();
      expect(await store.transition(tx, conn, 'needs_reauth', { reason: 'needs_reauth', detail: { source: 'refresh', error: 'invalid_grant' }, lease: crypto.randomUUID() })).toBeUndefined();
    });
    expect(await snapshot(conn.id)).toEqual(before);
  });

  it('the routing key comes from the catalog field and is freed by a disconnect', async () => {
    const conn = await connection();
    expect(conn.routing_key).toBe(conn.config.storeDomain);
    const stripe = await db.withTenant(tenant.id, (tx) =>
      store.create(tx, { tenantId: tenant.id, provider: catalog.get('stripe'), label: 'default', secrets: { apiKey: 'sk_test_x' }, config: {}, status: 'active', createdBy: systemActor.id }, by));
    expect(stripe.routing_key).toBeNull();
    const gone = await db.withTenant(tenant.id, (tx) => store.disconnect(tx, conn, { source: 'oauth', revocation: 'revoked' }));
    expect(gone).toMatchObject({ routing_key: null, status: 'disabled', is_active: false, credential_version: conn.credential_version + 1 });
    expect(await db.withTenant(tenant.id, (tx) => store.secretsOf(tx, gone!))).toEqual({});
  });
});
