import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logger.js';
import type { Database } from './schema.js';

export type PoolOptions = { url: string; max: number; log: Logger; applicationName: string };

/**
 * A pg pool with an error listener attached: Postgres terminating idle clients (fast shutdown,
 * failover) must be a log line, not an uncaught exception that kills the process.
 */
export function createPool(opts: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max,
    application_name: opts.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    // Set for every session at connect, whatever a role or database default says: inlined literals
    // (platform/db/one-trip.ts) are quoted for standard strings, where a backslash is an ordinary character.
    options: '-c standard_conforming_strings=on',
  });
  pool.on('error', (err) => opts.log.warn({ err: { message: err.message } }, 'idle database client error'));
  return pool;
}

export function createKysely(pool: pg.Pool): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
