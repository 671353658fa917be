import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appRoleUrl } from '../../platform/config.js';
import { runCli } from '../../test-support/cli.js';
import { migratedScratch } from '../../test-support/index.js';
import type { CheckResult } from './check.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-doctor-'));
  await chmod(dir, 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The environment of a server on `adminUrl`'s database, as the suite runs it. */
const serverEnv = (adminUrl: string) => ({
  DATABASE_URL: adminUrl, KEYHOLD_APP_DATABASE_URL: appRoleUrl(adminUrl, inject('appPassword')),
  KEYHOLD_MASTER_KEYS: inject('masterKeys'), KEYHOLD_LOG_LEVEL: 'warn', KEYHOLD_DATA_DIR: dir,
});

async function doctor(env: Record<string, string>) {
  const run = await runCli(['doctor', '--json'], env);
  return { code: run.code, report: JSON.parse(run.stdout) as { ok: boolean; checks: CheckResult[] }, output: run.output };
}
const byId = (checks: CheckResult[]) => Object.fromEntries(checks.map((c) => [c.id, c]));

describe('keyhold doctor', () => {
  it('passes on the database as the server runs it, checking everything the issue lists', async () => {
    const { code, report, output } = await doctor(serverEnv(inject('adminUrl')));
    expect(code, output).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(Object.keys(byId(report.checks)).sort()).toEqual([
      'config.jwt', 'config.master_keys', 'config.metrics', 'config.public_url', 'config.webhook_secrets',
      'db.app_role', 'db.clock', 'db.jobs', 'db.migrations', 'db.pooler', 'db.rls', 'db.version',
    ]);
    expect(byId(report.checks)['db.rls']!.summary).toMatch(/^\d+ tables: enabled, forced, with a policy$/);
    expect(byId(report.checks)['db.app_role']!.summary).toBe('keyhold_app: not superuser, no BYPASSRLS, owns nothing');
  }, 120_000);

  it('fails, naming the table and the fix, when RLS is off on a tenant table and the app role owns one', async () => {
    const scratch = await migratedScratch();
    try {
      // Broken only in this scratch database: the rest of the suite keeps its own.
      const s = new pg.Client({ connectionString: scratch.adminUrl });
      await s.connect();
      try {
        await s.query('alter table connections no force row level security');
        await s.query('alter table connections disable row level security');
        await s.query('alter table webhook_endpoints owner to keyhold_app');
      } finally {
        await s.end();
      }

      const { code, report } = await doctor(serverEnv(scratch.adminUrl));
      expect(code).toBe(1);
      expect(report.ok).toBe(false);
      const checks = byId(report.checks);
      expect(checks['db.rls']).toMatchObject({ status: 'fail', summary: expect.stringContaining('RLS disabled on connections') });
      expect(checks['db.rls']!.fix).toContain('alter table connections enable row level security; alter table connections force row level security;');
      expect(checks['db.app_role']).toMatchObject({ status: 'fail', summary: 'keyhold_app owns table webhook_endpoints' });
      expect(checks['db.app_role']!.fix).toContain('owner to keyhold_owner');
      // Nothing else is blamed.
      expect(report.checks.filter((x) => x.status === 'fail').map((x) => x.id).sort()).toEqual(['db.app_role', 'db.rls']);

      const text = await runCli(['doctor'], serverEnv(scratch.adminUrl));
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^FAIL {2}Row-level security on tenant tables: RLS disabled on connections$/m);
      expect(text.stdout).toMatch(/^ {6}fix: As the migrator: 'alter table connections enable/m);
      expect(text.stdout).toMatch(/^\d+ passed, \d+ warning\(s\), 2 failed$/m);
    } finally {
      await scratch.db.close();
      await scratch.drop();
    }
  }, 120_000);

  it('fails when the app role owns tables through a role it belongs to, or may create in the database or schema public', async () => {
    const scratch = await migratedScratch();
    // Roles are cluster-wide: a role of this test's own owns a table in the scratch database only.
    const owner = `keyhold_doctor_owner_${crypto.randomUUID().slice(0, 8)}`;
    const s = new pg.Client({ connectionString: scratch.adminUrl });
    await s.connect();
    try {
      await s.query(`create role ${owner} nologin`);
      await s.query(`alter table webhook_endpoints owner to ${owner}`);
      await s.query(`grant ${owner} to keyhold_app`);
      await s.query('grant create on schema public to keyhold_app');
      await s.query('do $$ begin execute format(\'grant create on database %I to keyhold_app\', current_database()); end $$');

      const { code, report } = await doctor(serverEnv(scratch.adminUrl));
      expect(code).toBe(1);
      const check = byId(report.checks)['db.app_role']!;
      expect(check.status).toBe('fail');
      expect(check.summary).toContain(`keyhold_app is a member of ${owner}, which owns table webhook_endpoints`);
      expect(check.summary).toContain('keyhold_app may create objects in the database');
      expect(check.summary).toContain('keyhold_app may create objects in schema public');
      expect(check.fix).toContain(`revoke ${owner} from keyhold_app`);
    } finally {
      await s.query(`revoke ${owner} from keyhold_app`).catch(() => undefined);
      await s.end();
      await scratch.db.close();
      await scratch.drop();
      const c = new pg.Client({ connectionString: inject('adminUrl') });
      await c.connect();
      await c.query(`drop role if exists ${owner}`).finally(() => c.end());
    }
  }, 120_000);

  it('reports a configuration that does not load as a failed check, in JSON and in text', async () => {
    const env = { ...serverEnv(inject('adminUrl')), KEYHOLD_METRICS_TOKEN: 'short-not-shown' };
    const { code, report } = await doctor(env);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual([expect.objectContaining({ id: 'config.load', status: 'fail', summary: expect.stringContaining('KEYHOLD_METRICS_TOKEN: must be at least 32 characters') })]);
    expect(JSON.stringify(report)).not.toContain('short-not-shown');

    const text = await runCli(['doctor'], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL {2}Configuration loads: .*KEYHOLD_METRICS_TOKEN: must be at least 32 characters/m);
    expect(text.stdout).toMatch(/^0 passed, 0 warning\(s\), 1 failed$/m);
  }, 120_000);

  it('fails in production without https, keys or a protected /metrics', async () => {
    const { code, report } = await doctor({ ...serverEnv(inject('adminUrl')), NODE_ENV: 'production', KEYHOLD_METRICS: 'open', KEYHOLD_MASTER_KEYS: 'main-1:dG9vLXNob3J0' });
    expect(code).toBe(1);
    const checks = byId(report.checks);
    expect(checks['config.jwt']).toMatchObject({ status: 'fail', summary: 'KEYHOLD_JWT_SECRET and KEYHOLD_ADMIN_JWT_SECRET not set (required in production)' });
    expect(checks['config.master_keys']!.status).toBe('fail');
    expect(checks['config.public_url']).toMatchObject({ status: 'fail', summary: expect.stringContaining('not https') });
    expect(checks['config.metrics']!.status).toBe('fail');
    expect(JSON.stringify(report)).not.toContain('dG9vLXNob3J0');
  }, 120_000);
});
