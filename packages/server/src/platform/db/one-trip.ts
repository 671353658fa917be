import type pg from 'pg';
import { isUuid } from './tenancy.js';

/**
 * A read inside one tenant's RLS context in a single network round trip: BEGIN, set the tenant,
 * the SELECT, COMMIT go as one simple-protocol message. For hot paths (a warm credential read)
 * where four round trips would dominate. The SELECT takes no parameters: callers inline only
 * values they validated, quoted with `literal`.
 */
export async function readAsTenant<T>(pool: pg.Pool, tenantId: string, select: string): Promise<T[]> {
  if (!isUuid(tenantId)) throw new Error('readAsTenant needs a tenant uuid');
  const results = (await pool.query(
    `begin read only; select set_config('app.tenant_id', '${tenantId}', true); ${select}; commit`,
  )) as unknown as pg.QueryResult[];
  return (results[2]?.rows ?? []) as T[];
}

/** A SQL string literal: standard strings, which every pool session has on (platform/db/pool.ts sets it at connect). */
export const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * A write inside one tenant's RLS context in a single round trip (BEGIN, the tenant, the
 * statement, COMMIT as one simple-protocol message), for hot paths such as storing a webhook
 * before its ack. The statement takes no parameters: callers inline only values quoted with
 * `literal`/`byteaLiteral`. On an error the connection's aborted transaction is rolled back before
 * it returns to the pool; RLS checks the rows as in any tenant transaction.
 */
export async function writeAsTenant<T>(pool: pg.Pool, tenantId: string, statement: string): Promise<T[]> {
  if (!isUuid(tenantId)) throw new Error('writeAsTenant needs a tenant uuid');
  const client = await pool.connect();
  try {
    const results = (await client.query(`begin; select set_config('app.tenant_id', '${tenantId}', true); ${statement}; commit`)) as unknown as pg.QueryResult[];
    client.release();
    return (results[2]?.rows ?? []) as T[];
  } catch (err) {
    await client.query('rollback').then(() => client.release(), (e: Error) => client.release(e));
    throw err;
  }
}

/** A bytea literal in hex form. */
export const byteaLiteral = (value: Buffer) => `'\\x${value.toString('hex')}'::bytea`;
