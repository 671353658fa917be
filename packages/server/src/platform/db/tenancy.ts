import { type Kysely, type Transaction, sql } from 'kysely';
import type { Database } from './schema.js';

const SCOPE = Symbol('keyhold.scope');

/**
 * A transaction whose RLS context is set to one tenant. Only `withTenant` creates one, so a repo
 * function that takes a `TenantTx` cannot run outside a tenant's context.
 */
export type TenantTx = Transaction<Database> & { readonly [SCOPE]: { tenantId: string } };

/** A transaction in the platform scope: sees platform rows (e.g. platform audit events), no tenant's. */
export type PlatformTx = Transaction<Database> & { readonly [SCOPE]: { tenantId: null } };

export type ScopedTx = TenantTx | PlatformTx;

export function scopeTenantId(tx: ScopedTx): string | null {
  return tx[SCOPE].tenantId;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID.test(v);

export type Tenancy = {
  withTenant<T>(tenantId: string, fn: (tx: TenantTx) => Promise<T>): Promise<T>;
  withPlatform<T>(fn: (tx: PlatformTx) => Promise<T>): Promise<T>;
};

/**
 * The only way services reach tenant data. `set_config(..., true)` is transaction-local, so the
 * setting dies with the transaction and a pooled connection never carries one tenant's context
 * into another's work.
 */
export function createTenancy(db: Kysely<Database>): Tenancy {
  return {
    async withTenant(tenantId, fn) {
      if (!isUuid(tenantId)) throw new Error('withTenant needs a tenant uuid');
      return db.transaction().execute(async (trx) => {
        await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(trx);
        return fn(Object.defineProperty(trx, SCOPE, { value: { tenantId } }) as TenantTx);
      });
    },
    async withPlatform(fn) {
      return db.transaction().execute(async (trx) => {
        await sql`select set_config('app.platform_scope', 'on', true)`.execute(trx);
        return fn(Object.defineProperty(trx, SCOPE, { value: { tenantId: null } }) as PlatformTx);
      });
    },
  };
}
