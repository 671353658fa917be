import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { TOTP_PURPOSE } from '../domains/identity/mfa.service.js';
import { keyRing, parseMasterKeys } from '../domains/vault/kek.js';
import type { KeyStatus } from '../domains/vault/keys.service.js';
import { registerVaultJobs } from '../domains/vault/vault.jobs.js';
import { appRoleUrl, jobsRoleUrl } from '../platform/config.js';
import { systemActor } from '../platform/context.js';
import { createDb } from '../platform/db/database.js';
import { migrate } from '../platform/db/migrate.js';
import { startJobRunner } from '../platform/jobs.js';
import { runCli } from '../test-support/cli.js';
import { nodeServices, scratchDatabase, silentLogger } from '../test-support/index.js';

// Rotation touches every scope of a database, so these commands run on a database of their own.
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let dir: string;
let env: Record<string, string>;
const oldKey = `old-1:${randomBytes(32).toString('base64')}`;
const newKey = `new-1:${randomBytes(32).toString('base64')}`;

beforeAll(async () => {
  scratch = await scratchDatabase();
  await migrate({ adminUrl: scratch.adminUrl, log: silentLogger() });
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-keys-cli-'));
  await chmod(dir, 0o755);
  env = { DATABASE_URL: scratch.adminUrl, KEYHOLD_APP_DATABASE_URL: appRoleUrl(scratch.adminUrl, inject('appPassword')), KEYHOLD_JOBS_DATABASE_URL: jobsRoleUrl(scratch.adminUrl, inject('jobsPassword')), KEYHOLD_DATA_DIR: dir, KEYHOLD_LOG_LEVEL: 'warn', KEYHOLD_MASTER_KEYS: oldKey };
});
afterAll(async () => {
  await scratch.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A tenant with `n` users whose TOTP secrets are vault records under the old master key. */
async function seed(n: number) {
  const db = createDb({ url: env.KEYHOLD_APP_DATABASE_URL!, poolMax: 2, log: silentLogger() });
  const services = nodeServices(db, keyRing(parseMasterKeys(oldKey, 'test')));
  const tenant = await services.tenants.create({ actor: systemActor }, { slug: `keys-${randomBytes(3).toString('hex')}`, name: 'Keys' });
  await db.withTenant(tenant.id, async (tx) => {
    for (let i = 0; i < n; i++) {
      const id = crypto.randomUUID();
      await tx.insertInto('users').values({ id, tenant_id: tenant.id, email: `k${i}@keys.example`, role: 'member' }).execute();
      await tx.updateTable('users').set({ mfa_secret: await services.vault.encrypt(tx, TOTP_PURPOSE.active, id, `s${i}`) }).where('id', '=', id).execute();
    }
  });
  await db.close();
  return tenant;
}

const statusOf = async (e: Record<string, string>, scope: string) =>
  (JSON.parse((await runCli(['keys', 'status', '--json'], e)).stdout) as KeyStatus[]).filter((r) => r.scope === scope);

describe('keyhold keys', () => {
  it('status, rotate-master, rotate-tenant --now and retire work end to end', async () => {
    const tenant = await seed(5);
    expect(await statusOf(env, tenant.id)).toEqual([{ scope: tenant.id, version: 1, kekId: 'old-1', state: 'active', records: 5 }]);

    const rotatedEnv = { ...env, KEYHOLD_MASTER_KEYS: `${newKey},${oldKey}` };
    const master = await runCli(['keys', 'rotate-master'], rotatedEnv);
    expect(master.code, master.output).toBe(0);
    expect(master.output).toMatch(/Done: \d+ data key\(s\) rewrapped/);
    expect((await statusOf(rotatedEnv, tenant.id))[0]).toMatchObject({ kekId: 'new-1', records: 5 });

    const rotate = await runCli(['keys', 'rotate-tenant', tenant.slug, '--now'], rotatedEnv);
    expect(rotate.code, rotate.output).toBe(0);
    expect(rotate.output).toContain(`${tenant.id}: data key v2 created`);
    const retire = await runCli(['keys', 'retire', tenant.slug], rotatedEnv);
    expect(retire.output).toContain(`${tenant.id}: retired v1`);
    expect(await statusOf(rotatedEnv, tenant.id)).toEqual([
      { scope: tenant.id, version: 1, kekId: 'new-1', state: 'retired', records: 0 },
      { scope: tenant.id, version: 2, kekId: 'new-1', state: 'active', records: 5 },
    ]);
    expect((await runCli(['keys', 'frobnicate'], env)).code).toBe(2);
  });

  it('rotate-tenant without --now queues re-encryption for the server; retire refuses until it ran', async () => {
    const tenant = await seed(3);
    const e: Record<string, string> = { ...env, KEYHOLD_MASTER_KEYS: `${newKey},${oldKey}` };
    expect((await runCli(['keys', 'rotate-tenant', tenant.id], e)).output).toContain('Re-encryption queued');
    const early = await runCli(['keys', 'retire', tenant.id], e);
    expect(early.code).toBe(1);
    expect(early.output).toContain('v1 still used by 3 record(s)');

    const db = createDb({ url: e.KEYHOLD_APP_DATABASE_URL!, poolMax: 2, log: silentLogger() });
    const services = nodeServices(db, keyRing(parseMasterKeys(`${newKey},${oldKey}`, 'test')));
    const jobs = await startJobRunner({ url: e.KEYHOLD_JOBS_DATABASE_URL!, log: silentLogger() });
    try {
      await registerVaultJobs(jobs, services.vaultKeys);
      const deadline = Date.now() + 20_000;
      while (!(await statusOf(e, tenant.id)).some((r) => r.version === 2 && r.records === 3) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      await jobs.stop();
      await db.close();
    }
    expect((await runCli(['keys', 'retire', tenant.id], e)).code).toBe(0);
  }, 60_000);
});
