import { type Insertable, type Kysely, type Selectable, type Updateable, sql } from 'kysely';
import type { Database, TenantsTable } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type TenantRow = Selectable<TenantsTable>;

export function createTenantsRepo(db: Kysely<Database>) {
  return {
    insert: (tx: TenantTx, row: Insertable<TenantsTable>) =>
      tx.insertInto('tenants').values(row).returningAll().executeTakeFirstOrThrow(),

    /** The tenant of the transaction (RLS shows no other). */
    current: (tx: TenantTx) => tx.selectFrom('tenants').selectAll().where('deleted_at', 'is', null).executeTakeFirst(),

    updateCurrent: (tx: TenantTx, set: Updateable<TenantsTable>) =>
      tx.updateTable('tenants').set({ ...set, updated_at: new Date() }).where('deleted_at', 'is', null).returningAll().executeTakeFirst(),

    /** Platform search: ids and the total only (SECURITY DEFINER); rows are read per tenant. */
    async searchIds(f: { status?: string; plan?: string; search?: string; limit: number; offset: number }) {
      const { rows } = await sql<{ id: string; total: string }>`select * from keyhold_search_tenant_ids(${f.status ?? null}, ${f.plan ?? null}, ${f.search ?? null}, ${f.limit}, ${f.offset})`.execute(db);
      return { ids: rows.map((r) => r.id), total: Number(rows[0]?.total ?? 0) };
    },

    /** What the tenant uses against its quotas, counted inside its own context. */
    async usage(tx: TenantTx, tenantId: string) {
      const users = await tx.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenantId).where('is_active', '=', true).executeTakeFirstOrThrow();
      const keys = await tx.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenantId).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
      const conns = await tx.selectFrom('connections').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).where('tenant_id', '=', tenantId).groupBy('status').execute();
      return { users: Number(users.n), apiKeys: Number(keys.n), connectionsByStatus: Object.fromEntries(conns.map((c) => [c.status, Number(c.n)])) as Record<string, number> };
    },

    async expiredTrialIds(now: Date): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`select keyhold_expired_trial_ids(${now}) as id`.execute(db);
      return rows.map((r) => r.id);
    },

    /** Cross-tenant lookup through the SECURITY DEFINER function: an id, nothing else. */
    async idBySlug(slug: string): Promise<string | undefined> {
      const { rows } = await sql<{ id: string | null }>`select keyhold_tenant_id_by_slug(${slug}) as id`.execute(db);
      return rows[0]?.id ?? undefined;
    },
  };
}

export type TenantsRepo = ReturnType<typeof createTenantsRepo>;
