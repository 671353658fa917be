import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import type { Db } from '../../platform/db/database.js';
import { migratedScratch, nodeServices } from '../../test-support/index.js';
import type { TenantPrincipal } from '../identity/principal.js';
import { createDekCache } from './dek-cache.js';
import { type KekProvider, keyRing, parseMasterKeys } from './kek.js';
import { createVaultRepo } from './vault.repo.js';
import { createVault } from './vault.service.js';

// A master key may be a remote KMS: wrapping or unwrapping a data key must never happen while a
// transaction is open (it would hold a connection and locks for a network round trip). The
// database below marks every tenant/platform transaction's work; the master keys record whether
// they were called from inside one. Master-key rotation touches every scope, hence a database of
// this file's own.
const inTransaction = new AsyncLocalStorage<true>();
const kekCalls: Array<{ op: 'wrap' | 'unwrap'; context: string; inTransaction: boolean }> = [];

const watched = (kek: KekProvider): KekProvider => ({
  id: kek.id,
  wrap: (dek, context) => {
    kekCalls.push({ op: 'wrap', context, inTransaction: inTransaction.getStore() === true });
    return kek.wrap(dek, context);
  },
  unwrap: (wrapped, context) => {
    kekCalls.push({ op: 'unwrap', context, inTransaction: inTransaction.getStore() === true });
    return kek.unwrap(wrapped, context);
  },
});
const ringOf = (spec: string) => keyRing(parseMasterKeys(spec, 'test').map(watched));

function markingTransactions(db: Db): Db {
  return {
    ...db,
    withTenant: (tenantId, fn) => db.withTenant(tenantId, (tx) => inTransaction.run(true, () => fn(tx))),
    withPlatform: (fn) => db.withPlatform((tx) => inTransaction.run(true, () => fn(tx))),
  };
}

let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let db: Db;
beforeAll(async () => {
  scratch = await migratedScratch();
  db = markingTransactions(scratch.db);
});
afterAll(async () => {
  await scratch.db.close();
  await scratch.drop();
});

const owner = (tenantId: string): TenantPrincipal => ({ tenantId, role: 'owner', actor: { type: 'user', id: null } });
const machine = (tenantId: string): TenantPrincipal => ({ tenantId, role: 'admin', scopes: ['credentials:read'], actor: { type: 'api_key', id: null } });
const insideCalls = () => kekCalls.filter((c) => c.inTransaction);

describe('master keys are called outside transactions only', () => {
  it('the marking sees a master key called inside a transaction (the check can fail)', async () => {
    const ring = ringOf(inject('masterKeys'));
    const tenant = await nodeServices(db, ring).tenants.create({ actor: systemActor }, { slug: `kms-probe-${randomBytes(4).toString('hex')}`, name: 'Probe' });
    const before = kekCalls.length;
    await db.withTenant(tenant.id, () => ring.current.wrap(randomBytes(32), 'probe'));
    expect(kekCalls.slice(before)).toEqual([{ op: 'wrap', context: 'probe', inTransaction: true }]);
    kekCalls.length = before;
  });

  it('create, read on a cold node, rotate the data key, re-encrypt, retire and rotate the master key', async () => {
    const oldSpec = inject('masterKeys');
    const node = nodeServices(db, ringOf(oldSpec));
    const tenant = await node.tenants.create({ actor: systemActor }, { slug: `kms-${randomBytes(4).toString('hex')}`, name: 'KMS' });
    const apiKey = `sk_test_${randomBytes(12).toString('hex')}`;
    const created = await node.connections.create(owner(tenant.id), { serviceName: 'stripe', apiKey }, { verify: false });
    expect((await node.connections.reveal(owner(tenant.id), created.id)).api_key).toBe(apiKey);

    // Another node, nothing cached: its first reads unwrap the key before their transactions.
    const cold = nodeServices(db, ringOf(oldSpec));
    expect((await cold.connections.reveal(owner(tenant.id), created.id)).api_key).toBe(apiKey);
    expect(JSON.stringify(await cold.connections.readForMachine(machine(tenant.id), 'stripe'))).toContain(apiKey);

    // Data key rotation on one node; the other meets version 2 inside a transaction first.
    expect(await node.vaultKeys.rotateScope(tenant.id)).toEqual({ version: 2 });
    const secondKey = `sk_test_${randomBytes(12).toString('hex')}`;
    const second = await cold.connections.create(owner(tenant.id), { serviceName: 'stripe', apiKey: secondKey, label: 'second' }, { verify: false });
    expect((await node.connections.reveal(owner(tenant.id), second.id)).api_key).toBe(secondKey);
    expect(await node.vaultKeys.rotateScope(tenant.id)).toEqual({ version: 3 });
    expect((await node.vaultKeys.reencrypt(tenant.id)).finished).toBe(true);
    expect(await node.vaultKeys.retire(tenant.id)).toEqual({ retired: [1, 2], inUse: [] });
    expect((await cold.connections.reveal(owner(tenant.id), created.id)).api_key).toBe(apiKey);
    expect((await cold.connections.reveal(owner(tenant.id), second.id)).api_key).toBe(secondKey);

    // Platform scope, then the master key: new key first on every node, then rewrap.
    await node.vaultKeys.rotateScope(null);
    const newSpec = `kms-2:${randomBytes(32).toString('base64')},${oldSpec}`;
    const rotated = nodeServices(db, ringOf(newSpec));
    expect((await rotated.vaultKeys.rotateMaster()).rewrapped).toBeGreaterThanOrEqual(2);
    const fresh = nodeServices(db, ringOf(newSpec));
    expect((await fresh.connections.reveal(owner(tenant.id), second.id)).api_key).toBe(secondKey);

    expect(kekCalls.filter((c) => c.op === 'wrap').length).toBeGreaterThanOrEqual(4);
    expect(kekCalls.filter((c) => c.op === 'unwrap').length).toBeGreaterThanOrEqual(3);
    expect(insideCalls()).toEqual([]);
  });

  it("a burst of first writes on cold nodes makes one data key, every KEK call outside a transaction", async () => {
    const spec = inject('masterKeys');
    const nodes = Array.from({ length: 4 }, () => nodeServices(db, ringOf(spec)));
    const tenant = await nodes[0]!.tenants.create({ actor: systemActor }, { slug: `kms-burst-${randomBytes(4).toString('hex')}`, name: 'Burst' });
    const keys = Array.from({ length: 8 }, () => `sk_test_${randomBytes(12).toString('hex')}`);
    const made = await Promise.all(keys.map((apiKey, i) => nodes[i % nodes.length]!.connections.create(owner(tenant.id), { serviceName: 'stripe', apiKey, label: `l${i}` }, { verify: false })));
    for (const [i, c] of made.entries()) expect((await nodes[(i + 1) % nodes.length]!.connections.reveal(owner(tenant.id), c.id)).api_key).toBe(keys[i]);
    const versions = await scratch.db.withTenant(tenant.id, (tx) => tx.selectFrom('tenant_keys').select('version').execute());
    expect(versions).toEqual([{ version: 1 }]);
    expect(insideCalls()).toEqual([]);
  });

  it('a data key evicted in the middle of a transaction is readied outside it, and no write uses a dropped key', async () => {
    const ring = ringOf(inject('masterKeys'));
    const tenant = await nodeServices(db, ring).tenants.create({ actor: systemActor }, { slug: `kms-evict-${randomBytes(4).toString('hex')}`, name: 'Evict' });
    const cache = createDekCache();
    const vault = createVault({ repo: createVaultRepo(db.kysely), ring, cache, clock: () => new Date(), tenancy: db });
    await vault.prepare(tenant.id); // as the tenancy does before each transaction
    await db.withTenant(tenant.id, (tx) => vault.encrypt(tx, 'test.evict', 'r0', 'first key'));
    let evicted = false;
    const [c1, c2] = await db.withTenant(tenant.id, async (tx) => {
      const first = await vault.encrypt(tx, 'test.evict', 'r1', 'one');
      if (!evicted) {
        cache.forget(tenant.id); // LRU pressure or expiry: the cached key is zeroed and dropped
        evicted = true;
      }
      return [first, await vault.encrypt(tx, 'test.evict', 'r2', 'two')];
    });
    const other = createVault({ repo: createVaultRepo(db.kysely), ring, cache: createDekCache(), clock: () => new Date(), tenancy: db });
    const plain = await db.withTenant(tenant.id, async (tx) => [(await other.decrypt(tx, 'test.evict', 'r1', c1!)).reveal(), (await other.decrypt(tx, 'test.evict', 'r2', c2!)).reveal()]);
    expect(plain).toEqual(['one', 'two']);
    expect(insideCalls()).toEqual([]);
  });
});
