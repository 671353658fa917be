import { existsSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { loadCatalog } from '../../domains/catalog/catalog.js';
import { type DatabaseEndpoint, openDatabaseEndpoint } from '../../platform/db/database.js';
import type { ConfigError } from '../../platform/config.js';
import type { CommandContext } from '../command.js';
import { type CheckResult, fail } from './check.js';
import { configChecks } from './config-checks.js';
import { appRoleCheck, clockCheck, connect, jobSchemaCheck, migrationsCheck, poolerCheck, rlsCheck, versionCheck, webhookSecretsCheck } from './database-checks.js';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs a check; a check that throws is a failure naming the error, never a crash of the doctor. */
async function guarded(id: string, title: string, run: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await run();
  } catch (err) {
    return fail(id, title, `could not check: ${errorText(err)}`, 'Fix the error above, then run keyhold doctor again');
  }
}

/** Where the checked database is, without credentials. */
function describe(endpoint: DatabaseEndpoint): string {
  const u = new URL(endpoint.adminUrl);
  return `${endpoint.mode} Postgres at ${u.hostname}:${u.port || 5432}${u.pathname}`;
}

/**
 * `keyhold doctor [--json]`: configuration, database, tenant isolation and deployment checks, each
 * pass/warn/fail with a fix. Exit 1 when any check fails.
 */
export async function runDoctor({ config, log, values }: CommandContext): Promise<number> {
  const results: CheckResult[] = configChecks(config);
  let target = config.database.mode === 'embedded' ? `embedded Postgres in ${config.database.pgDataDir}` : 'DATABASE_URL';
  let endpoint: DatabaseEndpoint | undefined;
  const clients: pg.Client[] = [];
  try {
    try {
      // A doctor looks; it does not create a cluster where none was started yet.
      if (config.database.mode === 'embedded' && !existsSync(path.join(config.database.pgDataDir, 'PG_VERSION'))) {
        throw new Error(`no embedded database in ${config.database.pgDataDir} yet`);
      }
      endpoint = await openDatabaseEndpoint(config.database, log, { attachToRunning: true });
      target = describe(endpoint);
    } catch (err) {
      results.push(fail('db.reachable', 'Database reachable', errorText(err), "Start Keyhold once ('npm start' or 'keyhold start'), or point at its data: --data-dir <dir>, KEYHOLD_PG_DATA_DIR or DATABASE_URL"));
    }
    if (endpoint) {
      const admin = await connect(endpoint.adminUrl).then((c) => (clients.push(c), c), (err: unknown) => {
        results.push(fail('db.reachable', 'Database reachable', `as the migrator: ${errorText(err)}`, 'Check DATABASE_URL (host, port, user, password) and that Postgres is running'));
      });
      const app = await connect(endpoint.appUrl).then((c) => (clients.push(c), c), (err: unknown) => {
        results.push(fail('db.app_login', 'App role login', errorText(err), "Check KEYHOLD_DB_APP_PASSWORD (or KEYHOLD_APP_DATABASE_URL); 'keyhold migrate' sets the keyhold_app password"));
      });
      if (admin) {
        results.push(await guarded('db.version', 'Postgres version', () => versionCheck(admin)));
        results.push(await guarded('db.migrations', 'Migrations', () => migrationsCheck(admin)));
        results.push(await guarded('db.rls', 'Row-level security on tenant tables', () => rlsCheck(admin)));
        results.push(await guarded('db.jobs', 'Job queue schema (pg-boss)', () => jobSchemaCheck(admin)));
        results.push(await guarded('db.clock', 'Clock skew (this node vs Postgres)', () => clockCheck(admin)));
      }
      if (app) {
        const adminUser = decodeURIComponent(new URL(endpoint.adminUrl).username);
        results.push(await guarded('db.app_role', 'App role privileges', () => appRoleCheck(app, adminUser)));
        results.push(await guarded('db.pooler', 'Connection pooler mode', () => poolerCheck(app)));
        const catalog = loadCatalog({ baseUrlOverrides: config.providerBaseUrls });
        results.push(await guarded('config.webhook_secrets', 'Webhook secrets for connected providers', () => webhookSecretsCheck(app, config, catalog)));
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await endpoint?.stop();
  }

  return report(results, `${config.env}, ${target}`, values.json === true);
}

/**
 * `keyhold doctor` when the configuration itself does not load: that is the one finding (JSON
 * readers still get their report), and nothing else can be checked without it.
 */
export function runDoctorWithoutConfig(err: ConfigError, { values }: Pick<CommandContext, 'values'>): number {
  const check = fail('config.load', 'Configuration loads', err.problems.join('; '), 'Fix the environment variables named, then run keyhold doctor again (see README.md)');
  return report([check], 'configuration not loaded', values.json === true);
}

/** Prints the findings (JSON or text); 1 when any failed. */
function report(results: CheckResult[], target: string, json: boolean): number {
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: failed === 0, target, checks: results }, null, 2)}\n`);
  } else {
    const lines = [`Keyhold doctor: ${target}`, ''];
    for (const r of results) {
      lines.push(`${r.status.toUpperCase().padEnd(5)} ${r.title}: ${r.summary}`);
      if (r.fix) lines.push(`      fix: ${r.fix}`);
    }
    lines.push('', `${results.length - failed - warned} passed, ${warned} warning(s), ${failed} failed`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return failed ? 1 : 0;
}
