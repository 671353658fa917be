import { readFile, writeFile, chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsRoleUrl } from '../config.js';
import { startJobRunner } from '../jobs.js';
import { adminClient, appClient, freePort, scratchDatabase, silentLogger } from '../../test-support/index.js';
import { startEmbeddedPostgres } from './embedded.js';
import { migrate } from './migrate.js';

async function connect(url: string) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const errorCodeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

/** Owner of every object in the job schema (the schema itself included). */
async function jobSchemaOwners(c: pg.Client) {
  const { rows } = await c.query<{ owner: string }>(`
    select distinct pg_get_userbyid(relowner) as owner from pg_class where relnamespace = 'pgboss'::regnamespace
    union select distinct pg_get_userbyid(proowner) from pg_proc where pronamespace = 'pgboss'::regnamespace
    union select distinct pg_get_userbyid(typowner) from pg_type where typnamespace = 'pgboss'::regnamespace
    union select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'pgboss'`);
  return rows.map((r) => r.owner);
}

let jobs: pg.Client;
beforeAll(async () => {
  jobs = await connect(inject('jobsUrl'));
});
afterAll(async () => {
  await jobs.end();
});

describe('the jobs role (pg-boss login)', () => {
  it('is an ordinary login: not superuser, no BYPASSRLS, cannot create roles or databases, member of nothing', async () => {
    const admin = await adminClient();
    const { rows } = await admin.query(`
      select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin,
             (select count(*)::int from pg_auth_members where member = r.oid) as memberships
      from pg_roles r where rolname = 'keyhold_jobs'`);
    await admin.end();
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true, memberships: 0 }]);
    expect((await jobs.query('select current_user as u')).rows[0].u).toBe('keyhold_jobs');
  });

  it("cannot read or write Keyhold's tables, call its functions, or create schemas", async () => {
    for (const table of ['connections', 'users', 'tenants', 'tenant_keys', 'audit_logs', 'keyhold_migrations']) {
      expect(await errorCodeOf(jobs.query(`select * from public.${table} limit 1`)), table).toBe('42501');
    }
    expect(await errorCodeOf(jobs.query(`insert into public.tenants (slug, name) values ('evil', 'Evil')`))).toBe('42501');
    expect(await errorCodeOf(jobs.query('select * from public.keyhold_key_scopes()'))).toBe('42501');
    expect(await errorCodeOf(jobs.query('create table public.shadow (id int)'))).toBe('42501');
    // A schema named after another role would come first in that role's search_path.
    expect(await errorCodeOf(jobs.query('create schema keyhold_app'))).toBe('42501');
  });

  it('owns the job schema and everything in it, including queues created at run time', async () => {
    const runner = await startJobRunner({ url: inject('jobsUrl'), log: silentLogger() });
    try {
      await runner.handle(`owner_check_${Date.now()}`, async () => undefined);
      const admin = await adminClient();
      expect(await jobSchemaOwners(admin)).toEqual(['keyhold_jobs']);
      // pg-boss's connections are logged in as the jobs role.
      const { rows } = await admin.query(`select distinct usename from pg_stat_activity where application_name = 'keyhold-jobs' and datname = current_database()`);
      await admin.end();
      expect(rows).toEqual([{ usename: 'keyhold_jobs' }]);
    } finally {
      await runner.stop();
    }
  });

  it('is out of reach of the app role: jobs cannot be read or queued by it', async () => {
    const app = await appClient();
    expect(await errorCodeOf(app.query('select * from pgboss.job limit 1'))).toBe('42501');
    await app.end();
  });
});

describe('job schema upgrade', () => {
  it('a job schema created by the migrator (earlier versions) is handed over with its jobs, and keeps running', async () => {
    const scratch = await scratchDatabase();
    try {
      // Earlier versions ran pg-boss as the migrator, which created and owned the schema.
      const legacy = new PgBoss({ connectionString: scratch.adminUrl, supervise: false, schedule: false });
      legacy.on('error', () => undefined);
      await legacy.start();
      await legacy.createQueue('legacy_queue');
      const queued = await legacy.send('legacy_queue', { n: 1 });
      await legacy.stop({ graceful: false });

      await migrate({ adminUrl: scratch.adminUrl, log: silentLogger() });
      const admin = await connect(scratch.adminUrl);
      expect(await jobSchemaOwners(admin)).toEqual(['keyhold_jobs']);
      await admin.end();

      const runner = await startJobRunner({ url: jobsRoleUrl(scratch.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
      try {
        const seen = new Promise<unknown>((resolve) => void runner.handle('legacy_queue', async (data) => resolve(data)));
        expect(await seen).toEqual({ n: 1 });
        expect(queued).toBeTruthy();
      } finally {
        await runner.stop();
      }
    } finally {
      await scratch.drop();
    }
  }, 60_000);

  it('an embedded data directory from before the jobs role gains a jobs password at its next start', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-jobs-role-'));
    await chmod(dir, 0o755);
    const dataDir = path.join(dir, 'pg');
    const log = silentLogger();
    try {
      const first = await startEmbeddedPostgres({ dataDir, port: await freePort(), log });
      await first.stop();
      const file = path.join(dataDir, 'keyhold-credentials.json');
      const { jobsPassword: _dropped, ...older } = JSON.parse(await readFile(file, 'utf8'));
      await writeFile(file, JSON.stringify(older), { mode: 0o600 });

      const second = await startEmbeddedPostgres({ dataDir, port: await freePort(), log });
      try {
        expect(second.jobsPassword).toMatch(/^[\w-]{32}$/);
        expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ ...older, jobsPassword: second.jobsPassword });
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        await migrate({ adminUrl: second.adminUrl, appPassword: second.appPassword, jobsPassword: second.jobsPassword, log });
        const c = await connect(jobsRoleUrl(second.adminUrl, second.jobsPassword));
        expect((await c.query('select count(*)::int as n from pgboss.version')).rows).toEqual([{ n: 1 }]);
        await c.end();
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
