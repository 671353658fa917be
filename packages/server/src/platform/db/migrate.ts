import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { APP_ROLE, JOBS_ROLE, OWNER_ROLE } from '../config.js';
import type { Logger } from '../logger.js';
import { prepareJobSchema } from './job-schema.js';

/** `packages/server/migrations`, both from `src/` (tests) and from `dist/` (built). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

const FILE_NAME = /^\d{4}_[a-z0-9_]+\.sql$/;
/** A migration with this first line runs as the connecting (migrator) user instead of the owner role. */
const RUN_AS_MIGRATOR = '-- keyhold:run-as-migrator';
/** Serialises `migrate` across every node starting at once against one database. */
const MIGRATION_LOCK_KEY = 7_201_915_001;

export type MigrationFile = { name: string; sql: string; checksum: string };

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => FILE_NAME.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

export type MigrateOptions = {
  adminUrl: string;
  /** When Keyhold manages the app role's password, `migrate` (re)sets it. */
  appPassword?: string;
  /** Likewise for the jobs role (pg-boss's login). */
  jobsPassword?: string;
  log: Logger;
  dir?: string;
};

export type MigrateResult = { applied: string[]; alreadyApplied: number };

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Applies every pending migration in order, each in its own transaction, recording name and
 * checksum. Running it again is a no-op; a migration edited after it was applied is refused.
 */
export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const files = await readMigrations(opts.dir);
  const client = new pg.Client({ connectionString: opts.adminUrl, application_name: 'keyhold-migrate' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`create table if not exists keyhold_migrations (
      name text primary key,
      checksum text not null,
      applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>('select name, checksum from keyhold_migrations');
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    for (const f of files) {
      const sum = applied.get(f.name);
      if (sum && sum !== f.checksum) {
        throw new MigrationError(`Migration ${f.name} was changed after it was applied (checksum mismatch); add a new migration instead`);
      }
    }
    const pending = files.filter((f) => !applied.has(f.name));
    for (const f of pending) {
      const started = Date.now();
      await applyOne(client, f);
      opts.log.info({ migration: f.name, ms: Date.now() - started }, 'migration applied');
    }
    await prepareJobSchema(client);
    if (opts.appPassword) await setRolePassword(client, APP_ROLE, opts.appPassword);
    if (opts.jobsPassword) await setRolePassword(client, JOBS_ROLE, opts.jobsPassword);
    return { applied: pending.map((f) => f.name), alreadyApplied: files.length - pending.length };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

async function applyOne(client: pg.Client, f: MigrationFile) {
  await client.query('begin');
  try {
    if (!f.sql.startsWith(RUN_AS_MIGRATOR)) await client.query(`set local role ${OWNER_ROLE}`);
    await client.query(f.sql);
    await client.query('reset role');
    await client.query('insert into keyhold_migrations (name, checksum) values ($1, $2)', [f.name, f.checksum]);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    throw new MigrationError(`Migration ${f.name} failed and was rolled back: ${message}`);
  }
}

async function setRolePassword(client: pg.Client, role: string, password: string) {
  // format(%L) quotes the literal server-side; ALTER ROLE takes no bind parameters.
  const { rows } = await client.query<{ stmt: string }>(`select format('alter role ${role} with login password %L', $1::text) as stmt`, [password]);
  await client.query(rows[0]!.stmt);
}

/** Names of migrations this build knows that the database has not applied (for `/ready`). */
export async function pendingMigrations(applied: string[], dir?: string): Promise<{ expected: string[]; pending: string[] }> {
  const expected = (await readMigrations(dir)).map((f) => f.name);
  const done = new Set(applied);
  return { expected, pending: expected.filter((n) => !done.has(n)) };
}
