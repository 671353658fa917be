import { type Kysely, sql } from 'kysely';
import type { ApiKeysTable, Database } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

const LAST_USED_RESOLUTION = sql`interval '1 minute'`;

export function createApiKeysRepo(db: Kysely<Database>) {
  return {
    insert: (tx: TenantTx, row: Omit<ApiKeysTable, 'id' | 'created_at' | 'last_used_at' | 'revoked_at' | 'created_by_key'> & { created_by_key: string | null }) =>
      tx.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow(),
    list: (tx: TenantTx) => tx.selectFrom('api_keys').selectAll().where('revoked_at', 'is', null).orderBy('created_at').execute(),
    /** Revokes the key and every key created from it, down the line; returns how many. */
    async revokeWithDescendants(tx: TenantTx, tenantId: string, id: string, at: Date): Promise<number> {
      const { rows } = await sql<{ n: string }>`
        with recursive line(id) as (
          select id from api_keys where tenant_id = ${tenantId} and id = ${id} and revoked_at is null
          union
          select k.id from api_keys k join line on k.created_by_key = line.id where k.tenant_id = ${tenantId}
        )
        , revoked as (
          update api_keys set revoked_at = ${at} where tenant_id = ${tenantId} and id in (select id from line) and revoked_at is null returning 1
        )
        select count(*) as n from revoked`.execute(tx);
      return Number(rows[0]?.n ?? 0);
    },
    byHash: (tx: TenantTx, hash: string) => tx.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst(),
    /** Records use at most once a minute per key, so a busy key does not write on every request. */
    touch: (tx: TenantTx, id: string, at: Date) =>
      tx.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`${at}::timestamptz - ${LAST_USED_RESOLUTION}`)]))
        .execute(),
    async tenantOf(hash: string): Promise<string | undefined> {
      const { rows } = await sql<{ id: string | null }>`select keyhold_api_key_tenant(${hash}) as id`.execute(db);
      return rows[0]?.id ?? undefined;
    },

    insertPlatform: (row: { name: string; prefix: string; key_hash: string; scopes: string[]; created_by: string | null }) =>
      db.insertInto('platform_api_keys').values(row).returningAll().executeTakeFirstOrThrow(),
    listPlatform: () => db.selectFrom('platform_api_keys').selectAll().where('revoked_at', 'is', null).orderBy('created_at').execute(),
    revokePlatform: async (id: string, at: Date) =>
      (await db.updateTable('platform_api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()).numUpdatedRows > 0n,
    platformByHash: (hash: string) => db.selectFrom('platform_api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst(),
    touchPlatform: (id: string, at: Date) =>
      db.updateTable('platform_api_keys').set({ last_used_at: at }).where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`${at}::timestamptz - ${LAST_USED_RESOLUTION}`)]))
        .execute(),
  };
}
export type ApiKeysRepo = ReturnType<typeof createApiKeysRepo>;
