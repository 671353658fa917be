import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type pg from 'pg';
import { ConfigError, type DatabaseConfig, JOBS_LOGIN_REQUIRED, appRoleUrl, jobsRoleUrl } from '../config.js';
import type { Logger } from '../logger.js';
import { startEmbeddedPostgres } from './embedded.js';
import { createKysely, createPool } from './pool.js';
import type { Database } from './schema.js';
import { type Tenancy, createTenancy } from './tenancy.js';

/** Where the database is and how to reach it, once the embedded server (if any) is running. */
export type DatabaseEndpoint = {
  adminUrl: string;
  appUrl: string;
  appPassword?: string;
  /** The jobs role's login (pg-boss); absent only with DATABASE_URL and no jobs credentials. */
  jobsUrl?: string;
  jobsPassword?: string;
  mode: 'embedded' | 'external';
  /** Only for the embedded server: true when this start created the cluster. */
  created: boolean;
  stop(): Promise<void>;
};

export async function openDatabaseEndpoint(
  cfg: DatabaseConfig,
  log: Logger,
  opts: { attachToRunning?: boolean } = {},
): Promise<DatabaseEndpoint> {
  if (cfg.mode === 'external') {
    return { ...cfg, created: false, stop: async () => undefined };
  }
  const pg = await startEmbeddedPostgres({ dataDir: cfg.pgDataDir, port: cfg.pgPort, log, attachToRunning: opts.attachToRunning });
  return {
    mode: 'embedded',
    adminUrl: pg.adminUrl,
    appUrl: appRoleUrl(pg.adminUrl, pg.appPassword),
    appPassword: pg.appPassword,
    jobsUrl: jobsRoleUrl(pg.adminUrl, pg.jobsPassword),
    jobsPassword: pg.jobsPassword,
    created: pg.created,
    stop: pg.stop,
  };
}

/** The jobs role's URL, or a configuration error naming what to set. */
export function requireJobsUrl(endpoint: Pick<DatabaseEndpoint, 'jobsUrl'>): string {
  if (!endpoint.jobsUrl) throw new ConfigError([JOBS_LOGIN_REQUIRED]);
  return endpoint.jobsUrl;
}

/** The app's handle on Postgres: every query runs as the RLS-bound app role. */
export type Db = Tenancy & {
  kysely: Kysely<Database>;
  pool: pg.Pool;
  /** Names of applied migrations (readable by the app role for readiness checks). */
  appliedMigrations(): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
};

export function createDb(opts: { url: string; poolMax: number; log: Logger }): Db {
  const pool = createPool({ url: opts.url, max: opts.poolMax, log: opts.log, applicationName: 'keyhold' });
  const kysely = createKysely(pool);
  return {
    ...createTenancy(kysely),
    kysely,
    pool,
    async appliedMigrations() {
      const rows = await kysely.selectFrom('keyhold_migrations').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    async close() {
      // Kysely ends the pool it was given.
      await kysely.destroy();
    },
  };
}
