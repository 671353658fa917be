import { type Kysely, type Transaction, sql } from 'kysely';
import { AppError } from '../errors.js';
import type { Database } from './schema.js';
import { TenantPredicatePlugin } from './tenant-predicate-plugin.js';

const SCOPE = Symbol('keyhold.scope');

/**
 * A transaction whose RLS context is set to one tenant. Only `withTenant` creates one, so a repo
 * function that takes a `TenantTx` cannot run outside a tenant's context.
 */
export type TenantTx = Transaction<Database> & { readonly [SCOPE]: { tenantId: string; committed: Array<() => void> } };

/** A transaction in the platform scope: sees platform rows (e.g. platform audit events), no tenant's. */
export type PlatformTx = Transaction<Database> & { readonly [SCOPE]: { tenantId: null; committed: Array<() => void> } };

export type ScopedTx = TenantTx | PlatformTx;

export function scopeTenantId(tx: ScopedTx): string | null {
  return tx[SCOPE].tenantId;
}

/**
 * Runs `fn` once the scope's transaction has committed (never if it rolls back): for in-process
 * state that must not change before the database does, e.g. dropping a cached copy of a row, so a
 * read that starts before the commit cannot bring the old row back.
 */
export function afterCommit(tx: ScopedTx, fn: () => void) {
  tx[SCOPE].committed.push(fn);
}

/** The transaction's result, after the work it asked to run once committed. */
async function committing<T>(run: (committed: Array<() => void>) => Promise<T>): Promise<T> {
  const committed: Array<() => void> = [];
  const result = await run(committed);
  for (const fn of committed) fn();
  return result;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID.test(v);

export type Tenancy = {
  withTenant<T>(tenantId: string, fn: (tx: TenantTx) => Promise<T>): Promise<T>;
  withPlatform<T>(fn: (tx: PlatformTx) => Promise<T>): Promise<T>;
};

/**
 * Thrown inside a scope's transaction by work that must not run inside one (a remote KMS call
 * while the transaction holds its connection and locks): the transaction rolls back, `outside`
 * runs with it closed, and the transaction's work runs again from the start.
 */
export class NeedsWorkOutsideTransaction extends Error {
  constructor(readonly outside: () => Promise<void>) {
    super('work needed outside the transaction');
  }
}

/** A transaction is retried at most this often; more means something keeps undoing `outside`. */
const OUTSIDE_ATTEMPTS = 3;

async function runOutsideWhenAsked<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (!(err instanceof NeedsWorkOutsideTransaction)) throw err;
      if (attempt === OUTSIDE_ATTEMPTS) throw new AppError('INTERNAL_ERROR', 'The operation could not be completed; try again', { cause: err });
      await err.outside();
    }
  }
}

/**
 * `tenancy` with `prepare(scope)` awaited before each transaction opens (tenant id; null = the
 * platform scope), so work a transaction will need that must not run inside one is done first.
 */
export function preparingScopes(tenancy: Tenancy, prepare: (tenantId: string | null) => Promise<void>): Tenancy {
  return {
    async withTenant(tenantId, fn) {
      await prepare(tenantId);
      return tenancy.withTenant(tenantId, fn);
    },
    async withPlatform(fn) {
      await prepare(null);
      return tenancy.withPlatform(fn);
    },
  };
}

/**
 * The only way services reach tenant data. `set_config(..., true)` is transaction-local, so the
 * setting dies with the transaction and a pooled connection never carries one tenant's context
 * into another's work. Work that asks to run outside the transaction (`NeedsWorkOutsideTransaction`)
 * gets the transaction rolled back, runs, and the transaction is retried.
 */
export function createTenancy(db: Kysely<Database>): Tenancy {
  return {
    async withTenant(tenantId, fn) {
      if (!isUuid(tenantId)) throw new Error('withTenant needs a tenant uuid');
      return runOutsideWhenAsked(() =>
        committing((committed) =>
          db.transaction().execute(async (trx) => {
            await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(trx);
            // Statements built on the transaction name the tenant too (tenant-predicate-plugin.ts).
            const scoped = trx.withPlugin(new TenantPredicatePlugin(tenantId));
            return fn(Object.defineProperty(scoped, SCOPE, { value: { tenantId, committed } }) as TenantTx);
          }),
        ),
      );
    },
    async withPlatform(fn) {
      return runOutsideWhenAsked(() =>
        committing((committed) =>
          db.transaction().execute(async (trx) => {
            await sql`select set_config('app.platform_scope', 'on', true)`.execute(trx);
            return fn(Object.defineProperty(trx, SCOPE, { value: { tenantId: null, committed } }) as PlatformTx);
          }),
        ),
      );
    },
  };
}
