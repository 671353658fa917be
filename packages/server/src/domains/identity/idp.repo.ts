import { type Kysely, sql } from 'kysely';
import type { Database, UserRole } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

/** SQL for users linked to the identity provider (`user_identities`), inside their tenant's transaction. */
export function createIdpRepo(db: Kysely<Database>) {
  return {
    /** Cross-tenant lookup through a SECURITY DEFINER function: an id, nothing else. */
    async tenantIdByOrg(match: 'external_id' | 'slug', org: string): Promise<string | undefined> {
      const { rows } = match === 'slug'
        ? await sql<{ id: string | null }>`select keyhold_tenant_id_by_slug(${org}) as id`.execute(db)
        : await sql<{ id: string | null }>`select keyhold_tenant_id_by_idp_org(${org}) as id`.execute(db);
      return rows[0]?.id ?? undefined;
    },

    /** The tenant of the transaction as far as letting someone in goes. */
    tenantStanding: (tx: TenantTx) => tx.selectFrom('tenants').select(['status', 'deleted_at']).executeTakeFirst(),

    /** The user an IdP identity is linked to, with what a request needs to know of them. */
    linkedUser: (tx: TenantTx, issuer: string, subject: string) =>
      tx
        .selectFrom('user_identities as i')
        .innerJoin('users as u', 'u.id', 'i.user_id')
        .select(['u.id', 'u.role', 'u.is_active'])
        .where('i.issuer', '=', issuer)
        .where('i.subject', '=', subject)
        .executeTakeFirst(),

    /** Whether the identity provider signs this user in (a Keyhold password is not theirs to use). */
    isLinked: async (tx: TenantTx, userId: string) =>
      (await tx.selectFrom('user_identities').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined,

    insertIdentity: (tx: TenantTx, row: { tenant_id: string; user_id: string; issuer: string; subject: string }) =>
      tx.insertInto('user_identities').values(row).execute(),

    /** Writes the IdP's role; true when it changed (of a parallel burst, only one request sees the change). */
    syncRole: async (tx: TenantTx, userId: string, role: UserRole) =>
      (await tx.updateTable('users').set({ role, updated_at: new Date() }).where('id', '=', userId).where('role', '<>', role).executeTakeFirst()).numUpdatedRows > 0n,
  };
}
export type IdpRepo = ReturnType<typeof createIdpRepo>;
