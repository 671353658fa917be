import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Database, PlatformAdminsTable } from '../../platform/db/schema.js';

export type PlatformAdminRow = Selectable<PlatformAdminsTable>;

/** Platform-level tables: no tenant context, the app role's grants are the guard. */
export function createPlatformAdminsRepo(db: Kysely<Database>) {
  return {
    insert: (row: Insertable<PlatformAdminsTable>) => db.insertInto('platform_admins').values(row).returningAll().executeTakeFirstOrThrow(),
    byEmail: (email: string) => db.selectFrom('platform_admins').selectAll().where('email', '=', email).executeTakeFirst(),
    byId: (id: string) => db.selectFrom('platform_admins').selectAll().where('id', '=', id).executeTakeFirst(),
    update: (id: string, set: Updateable<PlatformAdminsTable>) =>
      db.updateTable('platform_admins').set({ ...set, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),

    withPlainTotp: () =>
      db
        .selectFrom('platform_admins')
        .select(['id', 'mfa_secret', 'mfa_pending_secret'])
        .where((eb) => eb.or([
          eb.and([eb('mfa_secret', 'is not', null), eb('mfa_secret', 'not like', 'kh1.%')]),
          eb.and([eb('mfa_pending_secret', 'is not', null), eb('mfa_pending_secret', 'not like', 'kh1.%')]),
        ]))
        .execute(),
    insertSession: (row: { admin_id: string; ip: string | null; user_agent: string | null; expires_at: Date }) =>
      db.insertInto('platform_sessions').values(row).returning('id').executeTakeFirstOrThrow(),
    insertRefreshToken: (row: { session_id: string; token_hash: string; expires_at: Date }, tx: Kysely<Database> = db) =>
      tx.insertInto('platform_refresh_tokens').values(row).execute(),

    /** Locks the token row: one refresh at a time per token, so a replay is always seen as one. */
    refreshTokenForUpdate: (tx: Kysely<Database>, hash: string) =>
      tx
        .selectFrom('platform_refresh_tokens as r')
        .innerJoin('platform_sessions as s', 's.id', 'r.session_id')
        .select(['r.id', 'r.session_id', 'r.expires_at', 'r.rotated_at', 's.admin_id', 's.revoked_at', 's.expires_at as session_expires_at'])
        .where('r.token_hash', '=', hash)
        .forUpdate()
        .executeTakeFirst(),
    markRotated: (tx: Kysely<Database>, id: string, at: Date) => tx.updateTable('platform_refresh_tokens').set({ rotated_at: at }).where('id', '=', id).execute(),
    revokeSession: (tx: Kysely<Database>, id: string, reason: string, at: Date) =>
      tx.updateTable('platform_sessions').set({ revoked_at: at, revoked_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).execute(),
    sessionState: (adminId: string, sessionId: string) =>
      db
        .selectFrom('platform_admins as a')
        .innerJoin('platform_sessions as s', 's.admin_id', 'a.id')
        .select(['a.role', 'a.is_active', 's.revoked_at', 's.expires_at'])
        .where('a.id', '=', adminId)
        .where('s.id', '=', sessionId)
        .executeTakeFirst(),
    transaction: <T>(fn: (tx: Kysely<Database>) => Promise<T>) => db.transaction().execute(fn),
  };
}
export type PlatformAdminsRepo = ReturnType<typeof createPlatformAdminsRepo>;
