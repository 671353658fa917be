import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runCli, spawnCli, waitForHealth } from '../test-support/cli.js';
import { freePort, testApp, testDb, testServices, uniqueSlug } from '../test-support/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-cli-'));
  await chmod(dir, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('keyhold CLI', () => {
  it('generate-key prints a fresh random 32-byte key in base64', async () => {
    const [a, b] = await Promise.all([runCli(['generate-key'], {}), runCli(['generate-key'], {})]);
    expect(a.code).toBe(0);
    expect(Buffer.from(a.output.trim(), 'base64')).toHaveLength(32);
    expect(a.output).not.toBe(b.output);
  });

  it('start fails fast with a message naming a bad variable', async () => {
    const { code, output } = await runCli(['start'], { KEYHOLD_PORT: 'eighty', KEYHOLD_DATA_DIR: path.join(dir, 'never') });
    expect(code).toBe(1);
    expect(output).toContain('KEYHOLD_PORT');
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
  });

  it('in production, start refuses to run without signing and master keys, naming them', async () => {
    const dataDir = path.join(dir, 'prod');
    const noJwt = await runCli(['start'], { NODE_ENV: 'production', KEYHOLD_DATA_DIR: dataDir });
    expect(noJwt.code).toBe(1);
    expect(noJwt.output).toMatch(/KEYHOLD_JWT_SECRET: required in production/);
    const jwt = { KEYHOLD_JWT_SECRET: Buffer.alloc(32, 1).toString('base64'), KEYHOLD_ADMIN_JWT_SECRET: Buffer.alloc(32, 2).toString('base64') };
    const noKek = await runCli(['start'], { NODE_ENV: 'production', KEYHOLD_DATA_DIR: dataDir, ...jwt });
    expect(noKek.code).toBe(1);
    expect(noKek.output).toMatch(/KEYHOLD_MASTER_KEYS: required in production/);
    expect(existsSync(path.join(dataDir, 'pg'))).toBe(false);
  });

  it('an unknown command prints usage and exits 2', async () => {
    const { code, output } = await runCli(['frobnicate'], {});
    expect(code).toBe(2);
    expect(output).toContain('Usage: keyhold');
    expect(output).toContain("unknown command 'frobnicate'");
  });
});

describe('keyhold start on an embedded Postgres', () => {
  it('keeps data across restarts, stops cleanly on SIGTERM and recovers from a killed process', async () => {
    const dataDir = path.join(dir, 'data');
    const env = async () => ({ KEYHOLD_DATA_DIR: dataDir, KEYHOLD_PORT: String(await freePort()), KEYHOLD_PG_PORT: String(await freePort()) });

    // Cold start creates the cluster and applies migrations.
    const e1 = await env();
    const first = spawnCli(['start'], e1);
    await waitForHealth(Number(e1.KEYHOLD_PORT), first);
    const ready = await fetch(`http://127.0.0.1:${e1.KEYHOLD_PORT}/ready`);
    expect(ready.status).toBe(200);
    const creds = JSON.parse(await readFile(path.join(dataDir, 'pg', 'keyhold-credentials.json'), 'utf8'));
    const adminUrl = (port: string) => `postgres://postgres:${encodeURIComponent(creds.superuserPassword)}@127.0.0.1:${port}/keyhold`;
    await withClient(adminUrl(e1.KEYHOLD_PG_PORT), (c) => c.query(`insert into tenants (slug, name) values ('persisted', 'Persisted Ltd')`));

    // A second server on the same data dir is refused while the first runs.
    const clash = await runCli(['start'], { ...e1, KEYHOLD_PORT: String(await freePort()) });
    expect(clash.code).toBe(1);
    expect(clash.output).toMatch(/in use by another Keyhold process/);

    // CLI commands next to a running server use its database.
    const migrate = await runCli(['migrate'], e1);
    expect(migrate.output).toContain('Database is up to date');
    const verify = await runCli(['audit', 'verify'], e1);
    expect(verify.code).toBe(0);
    expect(verify.output).toContain('all intact');
    // Given only the data dir, a command finds the running server's Postgres by itself, and
    // doctor passes on this fresh start.
    const doctor = await runCli(['doctor', '--data-dir', dataDir], {});
    expect(doctor.code, doctor.output).toBe(0);
    expect(doctor.stdout).toContain(`embedded Postgres at 127.0.0.1:${e1.KEYHOLD_PG_PORT}/keyhold`);
    expect(doctor.stdout).toMatch(/^PASS  Row-level security on tenant tables/m);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

    // Warm start: same cluster, data still there.
    const e2 = await env();
    const second = spawnCli(['start'], e2);
    await waitForHealth(Number(e2.KEYHOLD_PORT), second);
    const rows = await withClient(adminUrl(e2.KEYHOLD_PG_PORT), (c) => c.query(`select name from tenants where slug = 'persisted'`));
    expect(rows.rows).toEqual([{ name: 'Persisted Ltd' }]);

    // SIGKILL leaves Postgres orphaned; the next start stops the orphan and starts cleanly.
    second.child.kill('SIGKILL');
    await second.exited;
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);
    const e3 = { ...(await env()), KEYHOLD_PG_PORT: e2.KEYHOLD_PG_PORT };
    const third = spawnCli(['start'], e3);
    await waitForHealth(Number(e3.KEYHOLD_PORT), third);
    expect(third.output()).toContain('left running by a previous Keyhold process');
    third.child.kill('SIGINT');
    expect(await third.exited).toBe(0);
  }, 120_000);
});

describe('keyhold audit verify', () => {
  it('exits 1 and names the altered entry of a tampered tenant chain', async () => {
    const db = testDb();
    const services = testServices(db);
    const tenant = await services.newTenant('cli-audit');
    const { id } = await services.audit.record({ tenantId: tenant.id, actor: { type: 'system', id: null } }, { action: 'test.cli_verify' });
    await db.close();
    const env = { DATABASE_URL: inject('adminUrl'), KEYHOLD_APP_DATABASE_URL: inject('appUrl'), KEYHOLD_LOG_LEVEL: 'warn' };

    const before = await runCli(['audit', 'verify', '--tenant', tenant.slug], env);
    expect(before.code).toBe(0);
    expect(before.output).toContain(`ok      tenant ${tenant.id}: 2 entries`);

    await withClient(inject('adminUrl'), (c) => c.query(`update audit_logs set action = 'test.cli_forged' where id = $1`, [id]));
    const after = await runCli(['audit', 'verify', '--tenant', tenant.id], env);
    expect(after.code).toBe(1);
    expect(after.output).toContain(`BROKEN  tenant ${tenant.id}: entry 2 (${id}) was altered after it was written [hash_mismatch]`);

    const json = await runCli(['audit', 'verify', '--tenant', tenant.slug, '--json'], env);
    expect(JSON.parse(json.output)[0].firstBroken).toMatchObject({ seq: 2, id, reason: 'hash_mismatch' });
  });
});

describe('keyhold admin create', () => {
  it('creates a platform admin who can sign in, and refuses a duplicate or a bad role', async () => {
    const env = { DATABASE_URL: inject('adminUrl'), KEYHOLD_APP_DATABASE_URL: inject('appUrl'), KEYHOLD_LOG_LEVEL: 'warn', KEYHOLD_DATA_DIR: path.join(dir, 'admin-cli') };
    const email = `ops-${Date.now()}@keyhold.example`;
    const password = 'a-long-operator-passphrase';
    const created = await runCli(['admin', 'create', '--email', email, '--role', 'ADMIN', '--password', password], env);
    expect(created.code, created.output).toBe(0);
    expect(created.output).toMatch(new RegExp(`Created platform admin ${email} \\(ADMIN\\)`));
    expect(created.output).not.toContain(password);
    const dup = await runCli(['admin', 'create', '--email', email, '--role', 'ADMIN', '--password', password], env);
    expect(dup.code).toBe(1);
    expect(dup.output).toContain('already exists');
    const badRole = await runCli(['admin', 'create', '--email', `x${email}`, '--role', 'KING', '--password', password], env);
    expect(badRole.code).toBe(1);
    expect(badRole.output).toMatch(/invalid input: role:/);
    const missing = await runCli(['admin', 'create', '--email', email], env);
    expect(missing.code).toBe(2);
  });
});

describe('keyhold admin invite-org', () => {
  it('prints a single-use invitation that opens sign-up by invitation once', async () => {
    const env = { DATABASE_URL: inject('adminUrl'), KEYHOLD_APP_DATABASE_URL: inject('appUrl'), KEYHOLD_LOG_LEVEL: 'warn', KEYHOLD_DATA_DIR: path.join(dir, 'invite-cli') };
    const email = `founder-${Date.now()}@example.com`;
    const issued = await runCli(['admin', 'invite-org', '--email', email, '--days', '2'], env);
    expect(issued.code, issued.output).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^khs_[A-Za-z0-9_-]{43}$/);
    expect(issued.output).toContain(`${email} only`);
    const t = await testApp({ signup: 'invite' });
    try {
      const body = { organizationName: 'Founded', slug: uniqueSlug('cli'), email, password: 'a-long-founder-passphrase', invitation: token };
      expect((await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: body })).statusCode).toBe(201);
      expect((await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { ...body, slug: uniqueSlug('cli') } })).json().code).toBe('TOKEN_INVALID');
    } finally {
      await t.close();
    }
    expect((await runCli(['admin', 'invite-org', '--days', 'soon'], env)).code).toBe(2);
    const tooLong = await runCli(['admin', 'invite-org', '--days', '90'], env);
    expect([tooLong.code, /expiresInDays/.test(tooLong.output)]).toEqual([1, true]);
  });
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
