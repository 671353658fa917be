import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { appRoleUrl } from '../../platform/config.js';
import { type Db, createDb } from '../../platform/db/database.js';
import { migrate } from '../../platform/db/migrate.js';
import { NeedsWorkOutsideTransaction } from '../../platform/db/tenancy.js';
import { nodeServices, scratchDatabase, silentLogger, testServices } from '../../test-support/index.js';
import type { Tenant } from '../tenants/tenants.service.js';
import { keyRing, parseMasterKeys } from './kek.js';
import { TOTP_PURPOSE } from '../identity/mfa.service.js';
import type { Vault } from './vault.service.js';

// Master-key rotation rewraps every scope of a database, so this test has a database of its own
// (on the shared one it would rewrap other test files' keys mid-run).
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let db: Db;
let tenant: Tenant;
const N = 40;
const userIds: string[] = [];

/** Plants N users whose TOTP secret is a vault record, the thing rotation must carry along. */
beforeAll(async () => {
  scratch = await scratchDatabase();
  await migrate({ adminUrl: scratch.adminUrl, log: silentLogger() });
  db = createDb({ url: appRoleUrl(scratch.adminUrl, inject('appPassword')), poolMax: 6, log: silentLogger() });
  const services = testServices(db);
  tenant = await services.newTenant('rotate');
  await db.withTenant(tenant.id, async (tx) => {
    userIds.length = 0; // the work runs again when the tenant's first key is made outside it
    for (let i = 0; i < N; i++) {
      const id = crypto.randomUUID();
      userIds.push(id);
      await tx.insertInto('users').values({ id, tenant_id: tenant.id, email: `u${i}@rotate.example`, role: 'member', mfa_secret: null }).execute();
      const ct = await services.vault.encrypt(tx, TOTP_PURPOSE.active, id, `secret-${i}`);
      await tx.updateTable('users').set({ mfa_secret: ct }).where('id', '=', id).execute();
    }
  });
});
afterAll(async () => {
  await db.close();
  await scratch.drop();
});

/** Reads every record in a loop until stopped; returns how many reads ran and any failure. */
function readLoop(services: { vault: Pick<Vault, 'decrypt'> }) {
  let stop = false;
  let reads = 0;
  const failures: unknown[] = [];
  const done = (async () => {
    while (!stop) {
      await db.withTenant(tenant.id, async (tx) => {
        const rows = await tx.selectFrom('users').select(['id', 'mfa_secret']).where('email', 'like', '%@rotate.example').execute();
        for (const r of rows) {
          const i = userIds.indexOf(r.id);
          // A key not ready yet is readied outside the transaction and the read retried: not a failure.
          const plain = await services.vault.decrypt(tx, TOTP_PURPOSE.active, r.id, r.mfa_secret!).catch((e) => {
            if (e instanceof NeedsWorkOutsideTransaction) throw e;
            return failures.push(e);
          });
          if (plain && typeof plain !== 'number' && plain.reveal() !== `secret-${i}`) failures.push(new Error('wrong plaintext'));
          reads++;
        }
      });
    }
  })();
  return { stop: async () => { stop = true; await done; return { reads, failures }; } };
}

async function versionsInUse() {
  const c = new pg.Client({ connectionString: scratch.adminUrl });
  await c.connect();
  const { rows } = await c.query(`select split_part(mfa_secret, '.', 2)::int as v, count(*)::int as n from users where tenant_id = $1 and mfa_secret is not null group by 1 order by 1`, [tenant.id]);
  const keys = await c.query('select version, kek_id, state from tenant_keys where tenant_id = $1 order by version', [tenant.id]);
  await c.end();
  return { records: rows, keys: keys.rows };
}

describe('online key rotation', () => {
  it('rotates the master key, then the data key with re-encryption and retirement, while every read succeeds', async () => {
    const oldSpec = inject('masterKeys');
    const newSpec = `test-2:${randomBytes(32).toString('base64')},${oldSpec}`;
    // Every node has the new master key first in its list before rotation starts (the
    // documented procedure); each node here has its own DEK cache, warmed before the rotation.
    const node = () => nodeServices(db, keyRing(parseMasterKeys(newSpec, 'test')));
    const after = node();
    const readers = [readLoop(node()), readLoop(node()), readLoop(after)];
    await new Promise((r) => setTimeout(r, 50));

    // 1. Master key: rewrap DEKs only.
    const master = await after.vaultKeys.rotateMaster();
    expect(master.rewrapped).toBeGreaterThanOrEqual(1);
    expect((await versionsInUse()).keys.every((k: { kek_id: string }) => k.kek_id === 'test-2')).toBe(true);
    expect((await after.vaultKeys.rotateMaster()).rewrapped).toBe(0); // nothing left: re-running is a no-op

    // 2. Data key: a new version; an interrupted re-encryption resumes where it stopped.
    const { version } = await after.vaultKeys.rotateScope(tenant.id);
    expect(version).toBe(2);
    const partial = await after.vaultKeys.reencrypt(tenant.id, { batch: 10, maxBatches: 1 });
    expect(partial).toEqual({ reencrypted: 10, finished: false });
    const early = await after.vaultKeys.retire(tenant.id);
    expect(early).toEqual({ retired: [], inUse: [{ version: 1, records: N - 10 }] });
    const rest = await after.vaultKeys.reencrypt(tenant.id, { batch: 10 });
    expect(rest).toEqual({ reencrypted: N - 10, finished: true });

    // 3. Retire the old version: nothing references it any more.
    expect(await after.vaultKeys.retire(tenant.id)).toEqual({ retired: [1], inUse: [] });

    const results = await Promise.all(readers.map((r) => r.stop()));
    for (const r of results) {
      expect(r.failures).toEqual([]);
      expect(r.reads).toBeGreaterThan(N);
    }
    const state = await versionsInUse();
    expect(state.records).toEqual([{ v: 2, n: N }]);
    expect(state.keys).toEqual([
      { version: 1, kek_id: 'test-2', state: 'retired' },
      { version: 2, kek_id: 'test-2', state: 'active' },
    ]);
    const status = (await after.vaultKeys.status()).filter((s) => s.scope === tenant.id);
    expect(status).toEqual([
      { scope: tenant.id, version: 1, kekId: 'test-2', state: 'retired', records: 0 },
      { scope: tenant.id, version: 2, kekId: 'test-2', state: 'active', records: N },
    ]);
    const audit = await db.withTenant(tenant.id, (tx) => tx.selectFrom('audit_logs').select(['action', 'metadata']).where('action', 'like', 'vault.%').orderBy('seq').execute());
    expect(audit.map((a) => a.action)).toEqual(['vault.kek_rotate', 'vault.dek_rotate', 'vault.reencrypt', 'vault.dek_retire']);
    expect(JSON.stringify(audit)).not.toMatch(/wrapped|[A-Za-z0-9+/]{43}=/);
  }, 60_000);
});
