import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { migratedScratch, nodeServices } from '../../test-support/index.js';
import { TOTP_PURPOSE } from '../identity/mfa.service.js';
import { type KekProvider, keyRing, parseMasterKeys } from './kek.js';

// Master-key rotation of many tenants goes in batches (one transaction per batch of tenants).
// It rewraps every scope of a database, so this file has a database of its own. Each test
// rotates to a fresh master key put first in the list, as an operator would.
let scratch: Awaited<ReturnType<typeof migratedScratch>>;
const TENANTS = 40;
const tenantIds: string[] = [];
let spec = '';

const newMasterKey = (id: string) => {
  spec = `${id}:${randomBytes(32).toString('base64')},${spec}`;
  return parseMasterKeys(spec, 'test');
};
const node = (keks = parseMasterKeys(spec, 'test')) => nodeServices(scratch.db, keyRing(keks));

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: scratch.adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
const keksInUse = () => admin(async (c) => (await c.query('select kek_id, count(*)::int as n from tenant_keys group by 1 order by 1')).rows);
/** How many `vault.kek_rotate` entries to master key `to` each tenant has (tenants without one are absent). */
const kekRotateEntries = (to: string) =>
  admin(async (c) => {
    const { rows } = await c.query(`select tenant_id, count(*)::int as n from audit_logs where tenant_id is not null and action = 'vault.kek_rotate' and metadata->>'to' = $1 group by 1`, [to]);
    return new Map<string, number>(rows.map((r) => [r.tenant_id, r.n]));
  });

/** Statements sent to Postgres by anything in this process while `fn` runs. */
async function countingStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const query = pg.Client.prototype.query;
  let statements = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    return { result: await fn(), statements };
  } finally {
    pg.Client.prototype.query = query;
  }
}

beforeAll(async () => {
  scratch = await migratedScratch();
  spec = inject('masterKeys');
  const seeder = node();
  for (let i = 0; i < TENANTS; i++) {
    const t = await seeder.tenants.create({ actor: systemActor }, { slug: `batch-${i}-${randomBytes(3).toString('hex')}`, name: 'Batch' });
    tenantIds.push(t.id);
    await seeder.vaultKeys.rotateScope(t.id);
    if (i % 4 === 0) await seeder.vaultKeys.rotateScope(t.id); // some tenants hold two versions
  }
  await seeder.vaultKeys.rotateScope(null); // and the platform scope one
}, 120_000);
afterAll(async () => {
  await scratch.db.close();
  await scratch.drop();
});

describe('master-key rotation in batches', () => {
  it('its batch statements run with the app role\'s rights under each tenant\'s RLS context, and leave none behind', async () => {
    const app = new pg.Client({ connectionString: scratch.appUrl });
    await app.connect();
    try {
      await app.query('begin');
      const keys = await app.query('select tenant_id, version from keyhold_data_keys_of($1::uuid[])', [[tenantIds[0], tenantIds[1]]]);
      expect(keys.rows.map((r) => r.tenant_id)).toEqual([tenantIds[0], tenantIds[0], tenantIds[1]]);
      // The last tenant's context does not outlive the statement: the transaction sees no tenant's rows.
      expect((await app.query('select count(*)::int as n from tenant_keys')).rows[0].n).toBe(0);
      await app.query('commit');
    } finally {
      await app.end();
    }
    const definers = await admin(async (c) => (await c.query(`select proname from pg_proc where prosecdef and proname in
      ('keyhold_key_scopes_not_under', 'keyhold_data_keys_of', 'keyhold_rewrap_data_keys', 'keyhold_lock_audit_heads', 'keyhold_append_audit_entries')`)).rows);
    expect(definers).toEqual([{ proname: 'keyhold_key_scopes_not_under' }]); // ids only
  });

  it('rewraps every tenant in a few transactions, with one audit entry per tenant and intact chains', async () => {
    const keks = newMasterKey('batch-b');
    const rotating = node(keks);
    const totalKeys = TENANTS + TENANTS / 4 + 1;
    const progress: string[] = [];
    const { result, statements } = await countingStatements(() => rotating.vaultKeys.rotateMaster((m) => progress.push(m), { batch: 20, parallel: 2 }));
    expect(result).toEqual({ scopes: TENANTS + 1, rewrapped: totalKeys });
    expect(await keksInUse()).toEqual([{ kek_id: 'batch-b', n: totalKeys }]);
    // Per batch of tenants, not per tenant: one tenant at a time took over a dozen statements each.
    expect(statements).toBeLessThan(TENANTS);
    expect(progress.at(-1)).toBe(`${TENANTS}/${TENANTS} tenants, ${totalKeys} data keys rewrapped`);

    const entries = await kekRotateEntries('batch-b');
    expect(tenantIds.map((id) => entries.get(id))).toEqual(tenantIds.map(() => 1));
    const metadata = await admin(async (c) => (await c.query(`select metadata from audit_logs where tenant_id = $1 and action = 'vault.kek_rotate'`, [tenantIds[0]])).rows);
    expect(metadata).toEqual([{ metadata: { to: 'batch-b', versions: [{ version: 1, from: 'test-1' }, { version: 2, from: 'test-1' }] } }]);
    expect((await rotating.audit.verify()).filter((r) => !r.ok)).toEqual([]);

    // Reads on a fresh node unwrap under the new key.
    const t = tenantIds[1]!;
    const written = await node().vaultKeys.rotateScope(t); // v2 under batch-b
    expect(written.version).toBe(2);
    expect((await node(parseMasterKeys(spec, 'test').slice(0, 1)).vaultKeys.rotateMaster()).rewrapped).toBe(0); // nothing left, even without the old key
  });

  it('an interrupted rotation leaves whole batches done and a re-run finishes the rest, auditing each tenant once', async () => {
    const keks = newMasterKey('batch-c');
    let wraps = 0;
    // The master key (a KMS) fails after 25 wraps: two batches of 10 tenants are committed by then.
    const failing: KekProvider = { ...keks[0]!, id: keks[0]!.id, wrap: (dek, ctx) => (++wraps > 25 ? Promise.reject(new Error('KMS unavailable')) : keks[0]!.wrap(dek, ctx)) };
    await expect(node([failing, ...keks.slice(1)]).vaultKeys.rotateMaster(undefined, { batch: 10, parallel: 1 })).rejects.toThrow('KMS unavailable');

    const partly = await kekRotateEntries('batch-c');
    expect([...partly.values()].every((n) => n === 1)).toBe(true);
    expect(partly.size).toBeGreaterThanOrEqual(10);
    expect(partly.size).toBeLessThan(TENANTS);
    // A tenant is either fully rotated (and audited) or not touched at all.
    const perTenant = await admin(async (c) => (await c.query('select tenant_id, bool_and(kek_id = $1) as all_new, bool_or(kek_id = $1) as any_new from tenant_keys where tenant_id is not null group by 1', ['batch-c'])).rows);
    for (const r of perTenant) {
      expect(r.all_new).toBe(r.any_new);
      expect(partly.has(r.tenant_id)).toBe(r.all_new);
    }

    const rest = await node(keks).vaultKeys.rotateMaster(undefined, { batch: 10 });
    expect(rest.scopes).toBe(TENANTS - partly.size); // only what was left (the platform scope went first)
    const entries = await kekRotateEntries('batch-c');
    expect(tenantIds.map((id) => entries.get(id))).toEqual(tenantIds.map(() => 1));
    expect((await keksInUse()).map((r) => r.kek_id)).toEqual(['batch-c']);
    expect((await node(keks).audit.verify()).filter((r) => !r.ok)).toEqual([]);
  });

  it('two rotations at once rewrap each data key once, and a data-key rotation during a batch is kept', async () => {
    const keks = newMasterKey('batch-d');
    const busy = [...tenantIds].sort()[0]!; // in the first batch
    const other = node();
    let secret: { version: number; ciphertext: string } | undefined;
    let second: Promise<{ rewrapped: number }> | undefined;
    let triggered = false;
    // While the first rotation's first batch is between its read and its write, another node adds
    // a data-key version for one of its tenants and encrypts with it, and a second rotation starts
    // (it reads the same, not yet rewritten, batch).
    const watching: KekProvider = {
      ...keks[0]!,
      id: keks[0]!.id,
      wrap: async (dek, ctx) => {
        // Once only, though the batch may be wrapping several of this tenant's versions at once.
        if (!triggered && ctx.startsWith(`keyhold:dek:${busy}:`)) {
          triggered = true;
          const { version } = await other.vaultKeys.rotateScope(busy);
          // rotateScope left the new key in that node's cache: encrypting needs no master key.
          const ciphertext = await scratch.db.withTenant(busy, (tx) => other.vault.encrypt(tx, TOTP_PURPOSE.active, 'rec-1', 'kept-secret'));
          secret = { version, ciphertext };
          second = node(keks).vaultKeys.rotateMaster(undefined, { batch: 9, parallel: 2 });
        }
        return keks[0]!.wrap(dek, ctx);
      },
    };
    const a = await node([watching, ...keks.slice(1)]).vaultKeys.rotateMaster(undefined, { batch: 6, parallel: 2 });
    expect(second).toBeDefined();
    const b = await second!;
    const keys = await admin(async (c) => (await c.query('select count(*)::int as n from tenant_keys')).rows[0].n);
    // Every key rewrapped by exactly one of them (the new version was wrapped by batch-d already).
    expect(a.rewrapped + b.rewrapped).toBe(keys - 1);
    const entries = await kekRotateEntries('batch-d');
    expect(tenantIds.map((id) => entries.get(id))).toEqual(tenantIds.map(() => 1));
    expect((await keksInUse()).map((r) => r.kek_id)).toEqual(['batch-d']);

    // The version added mid-batch is still there, and decrypts on a node that has only the new key.
    expect(secret).toBeDefined();
    const fresh = node(keks.slice(0, 1));
    await fresh.vault.prepare(busy);
    const plain = await scratch.db.withTenant(busy, (tx) => fresh.vault.decrypt(tx, TOTP_PURPOSE.active, 'rec-1', secret!.ciphertext));
    expect(plain.reveal()).toBe('kept-secret');
    expect((await fresh.audit.verify()).filter((r) => !r.ok)).toEqual([]);
  });
});
