import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { Database, TenantsTable } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type TenantRow = Selectable<TenantsTable>;

export function createTenantsRepo(db: Kysely<Database>) {
  return {
    insert: (tx: TenantTx, row: Insertable<TenantsTable>) =>
      tx.insertInto('tenants').values(row).returningAll().executeTakeFirstOrThrow(),

    /** The tenant of the transaction (RLS shows no other). */
    current: (tx: TenantTx) => tx.selectFrom('tenants').selectAll().where('deleted_at', 'is', null).executeTakeFirst(),

    /** Cross-tenant lookup through the SECURITY DEFINER function: an id, nothing else. */
    async idBySlug(slug: string): Promise<string | undefined> {
      const { rows } = await sql<{ id: string | null }>`select keyhold_tenant_id_by_slug(${slug}) as id`.execute(db);
      return rows[0]?.id ?? undefined;
    },
  };
}

export type TenantsRepo = ReturnType<typeof createTenantsRepo>;
