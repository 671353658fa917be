import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { appRoleUrl, jobsRoleUrl } from '../platform/config.js';
import { startEmbeddedPostgres } from '../platform/db/embedded.js';
import { migrate } from '../platform/db/migrate.js';
import { createLogger } from '../platform/logger.js';
import { freePort } from './free-port.js';
import { loadParser, missingTenantPredicates, tenantTables } from './tenant-predicates.js';

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
    /** Where each worker writes the statements Keyhold's code issued (sql-capture.ts). */
    sqlLogDir: string;
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
  const sqlLogDir = await mkdtemp(path.join(tmpdir(), 'keyhold-test-sql-'));
  project.provide('sqlLogDir', sqlLogDir);
  return async () => {
    try {
      await checkTenantPredicates(adminUrl, sqlLogDir);
    } finally {
      await rm(sqlLogDir, { recursive: true, force: true });
      await teardown();
    }
  };
}

/**
 * The run fails when a statement Keyhold issued reaches a tenant table without naming its
 * tenant_id (tenant-predicates.ts). The verdict is also written as JSON for CI's count
 * (KEYHOLD_TENANT_PREDICATES_REPORT).
 */
async function checkTenantPredicates(adminUrl: string, dir: string) {
  const statements = new Set<string>();
  for (const f of await readdir(dir)) {
    for (const line of (await readFile(path.join(dir, f), 'utf8')).split('\n')) if (line) statements.add(JSON.parse(line) as string);
  }
  await loadParser();
  const tables = await tenantTables(adminUrl);
  const violations = [...statements].map((sql) => ({ sql, tables: missingTenantPredicates(sql, tables) })).filter((v) => v.tables.length > 0);
  const report = process.env.KEYHOLD_TENANT_PREDICATES_REPORT;
  if (report) await writeFile(report, JSON.stringify({ statements: statements.size, violations }, null, 2));
  if (violations.length === 0) return;
  const list = violations.map((v) => `  [${v.tables.join(', ')}] ${v.sql.replace(/\s+/g, ' ').slice(0, 300)}`).join('\n');
  // vitest reports a teardown error without failing the run: the exit code is set here.
  process.exitCode = 1;
  throw new Error(`${violations.length} of ${statements.size} statements reach a tenant table without a tenant_id predicate:\n${list}`);
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
