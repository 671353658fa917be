import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { appRoleUrl, jobsRoleUrl } from '../platform/config.js';
import { startEmbeddedPostgres } from '../platform/db/embedded.js';
import { migrate } from '../platform/db/migrate.js';
import { createLogger } from '../platform/logger.js';
import { freePort } from './free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Migrator connection to the test database (superuser on the embedded cluster). */
    adminUrl: string;
    /** Connection as the RLS-bound app role, as the server runs. */
    appUrl: string;
    appPassword: string;
    /** Connection as the jobs role (pg-boss's login), as the server runs its jobs. */
    jobsUrl: string;
    jobsPassword: string;
    /** One master key for the whole run, so every worker can unwrap every tenant's DEKs. */
    masterKeys: string;
  }
}

/**
 * One real Postgres per test run: the embedded server in a temp dir, or the server named by
 * DATABASE_URL (a fresh database is created on it). Migrations are applied once; test files
 * then isolate themselves by seeding their own tenants.
 */
export default async function setup(project: TestProject) {
  const log = createLogger({ level: 'warn' });
  let adminUrl: string;
  let appPassword: string;
  let jobsPassword: string;
  let teardown: () => Promise<void>;

  if (process.env.DATABASE_URL) {
    appPassword = process.env.KEYHOLD_DB_APP_PASSWORD ?? randomBytes(18).toString('base64url');
    jobsPassword = process.env.KEYHOLD_DB_JOBS_PASSWORD ?? randomBytes(18).toString('base64url');
    const name = `keyhold_test_${randomBytes(4).toString('hex')}`;
    await adminQuery(process.env.DATABASE_URL, `create database ${name}`);
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    adminUrl = url.toString();
    teardown = () => adminQuery(process.env.DATABASE_URL!, `drop database if exists ${name} with (force)`);
  } else {
    const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-test-pg-'));
    await chmod(dir, 0o755); // as root, Postgres runs as 'postgres' and must enter it
    const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: await freePort(), log });
    adminUrl = server.adminUrl;
    appPassword = server.appPassword;
    jobsPassword = server.jobsPassword;
    teardown = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }

  await migrate({ adminUrl, appPassword, jobsPassword, log });
  project.provide('adminUrl', adminUrl);
  project.provide('appUrl', appRoleUrl(adminUrl, appPassword));
  project.provide('appPassword', appPassword);
  project.provide('jobsUrl', jobsRoleUrl(adminUrl, jobsPassword));
  project.provide('jobsPassword', jobsPassword);
  project.provide('masterKeys', `test-1:${randomBytes(32).toString('base64')}`);
  return teardown;
}

async function adminQuery(url: string, sql: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
