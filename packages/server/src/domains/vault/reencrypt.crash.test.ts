import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsRoleUrl } from '../../platform/config.js';
import { systemActor } from '../../platform/context.js';
import { startJobRunner } from '../../platform/jobs.js';
import { migratedScratch, nodeServices, silentLogger, testRing } from '../../test-support/index.js';
import { TOTP_PURPOSE } from '../identity/mfa.service.js';
import type { Tenant } from '../tenants/tenants.service.js';
import { type ReencryptPolicy, REENCRYPT_JOB, queueReencrypt } from './vault.jobs.js';

const WORKER = fileURLToPath(new URL('../../../test-fixtures/reencrypt-worker.mjs', import.meta.url));
const N = 60;
const BATCH = 10;
// The recovering node's timings, shortened so the test runs in seconds; production runs
// REENCRYPT_POLICY with 10 s maintenance. Recovery takes at most expiration + two maintenance
// periods + retry delay + polling, counted from the moment the recovering node takes jobs (its
// start-up is not recovery: a loaded machine can take seconds to spawn it); 3 s more cover the
// rest, which slices of one batch (1 ms) make three slices, each a job of its own.
const POLICY: ReencryptPolicy = { sliceMs: 1, expireInSeconds: 3, retryLimit: 5, retryDelaySeconds: 1, retryBackoff: false };
const MAINTENANCE_S = 1;
const POLLING_S = 0.5;
const BOUND_MS = (POLICY.expireInSeconds + 2 * MAINTENANCE_S + POLICY.retryDelaySeconds + POLLING_S + 3) * 1000;

let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let services: ReturnType<typeof nodeServices>;
let tenant: Tenant;
let jobsUrl: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  scratch = await migratedScratch();
  jobsUrl = jobsRoleUrl(scratch.adminUrl, inject('jobsPassword'));
  services = nodeServices(scratch.db, testRing());
  tenant = await services.tenants.create({ actor: systemActor }, { slug: `crash-${crypto.randomUUID().slice(0, 8)}`, name: 'Crash' });
  await scratch.db.withTenant(tenant.id, async (tx) => {
    for (let i = 0; i < N; i++) {
      const id = crypto.randomUUID();
      await tx.insertInto('users').values({ id, tenant_id: tenant.id, email: `u${i}@crash.example`, role: 'member' }).execute();
      await tx.updateTable('users').set({ mfa_secret: await services.vault.encrypt(tx, TOTP_PURPOSE.active, id, `secret-${i}`) }).where('id', '=', id).execute();
    }
  });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await scratch.db.close();
  await scratch.drop();
});

/** Starts a worker process; resolves once it printed `until`. */
function startWorker(input: object, until: string): Promise<ChildProcess> {
  if (!existsSync(path.join(path.dirname(WORKER), '../dist/deps.js'))) throw new Error("packages/server/dist is missing: run 'npm run build' first");
  const child = spawn(process.execPath, [WORKER, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.split('\n').includes(until)) resolve(child);
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code) => reject(new Error(`worker exited ${code} before '${until}': ${err}`)));
  });
}

async function adminQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
  const c = new pg.Client({ connectionString: scratch.adminUrl });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

const recordsByVersion = async () =>
  Object.fromEntries(
    (await adminQuery<{ v: number; n: number }>(`select split_part(mfa_secret, '.', 2)::int as v, count(*)::int as n from users where tenant_id = $1 group by 1`, [tenant.id])).map((r) => [r.v, r.n]),
  );

describe('re-encryption after a crash', () => {
  it('a process killed with SIGKILL mid-run leaves its job active; another process finishes the work within the bound', async () => {
    await services.vaultKeys.rotateScope(tenant.id);
    const runner = await startJobRunner({ url: jobsUrl, log: silentLogger() });
    const jobId = await queueReencrypt(runner, tenant.id, POLICY);
    await runner.stop();
    const base = { appUrl: scratch.appUrl, jobsUrl, masterKeys: inject('masterKeys'), policy: POLICY, maintenanceIntervalSeconds: MAINTENANCE_S, pollingIntervalSeconds: POLLING_S };

    const first = await startWorker({ ...base, batch: BATCH, stallAfterFirstBatch: true }, 'stalled');
    expect(await recordsByVersion()).toEqual({ 1: N - BATCH, 2: BATCH });
    expect(await adminQuery(`select state from pgboss.job where id = $1`, [jobId])).toEqual([{ state: 'active' }]);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const killedAt = Date.now();

    const second = await startWorker({ ...base, batch: 2 * BATCH }, 'ready');
    // The job's expiration has run since the killed process took it: from here, what is left of
    // it is at most the whole expiration the bound counts.
    const readyAt = Date.now();
    while ((await recordsByVersion())[1] && Date.now() - killedAt < 60_000) await new Promise((r) => setTimeout(r, 100));
    const resumedMs = Date.now() - readyAt;
    const unfinished = () => adminQuery(`select 1 from pgboss.job where name = $1 and state <> 'completed'`, [REENCRYPT_JOB]);
    while ((await unfinished()).length && Date.now() - killedAt < 60_000) await new Promise((r) => setTimeout(r, 100));
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));

    expect(await recordsByVersion()).toEqual({ 2: N });
    expect(resumedMs).toBeLessThan(BOUND_MS);
    // The killed run was put back in the queue (one retry) and completed by the second process,
    // which worked the rest in slices, each a job of its own.
    expect(await adminQuery(`select state, retry_count from pgboss.job where id = $1`, [jobId])).toEqual([{ state: 'completed', retry_count: 1 }]);
    const jobs = await adminQuery<{ state: string; n: number }>(`select state, count(*)::int as n from pgboss.job where name = $1 group by 1`, [REENCRYPT_JOB]);
    expect(jobs).toEqual([{ state: 'completed', n: expect.any(Number) }]);
    expect(jobs[0]!.n).toBeGreaterThanOrEqual(3);
    // The finished rotation is audited with what the completed slices re-encrypted.
    const audit = await adminQuery<{ records: number }>(`select (metadata->>'records')::int as records from audit_logs where tenant_id = $1 and action = 'vault.reencrypt'`, [tenant.id]);
    expect(audit).toEqual([{ records: N - BATCH }]);
    // Every record still decrypts to its own secret.
    await scratch.db.withTenant(tenant.id, async (tx) => {
      const rows = await tx.selectFrom('users').select(['id', 'email', 'mfa_secret']).where('email', 'like', '%@crash.example').execute();
      for (const r of rows) {
        const plain = await services.vault.decrypt(tx, TOTP_PURPOSE.active, r.id, r.mfa_secret!);
        expect(plain.reveal()).toBe(`secret-${r.email.slice(1, r.email.indexOf('@'))}`);
      }
    });
  }, 90_000);
});
