import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Database, PlatformAdminsTable } from '../../platform/db/schema.js';

export type PlatformAdminRow = Selectable<PlatformAdminsTable>;

/** Platform-level tables: no tenant context, the app role's grants are the guard. */
export function createPlatformAdminsRepo(db: Kysely<Database>) {
  return {
    insert: (row: Insertable<PlatformAdminsTable>) => db.insertInto('platform_admins').values(row).returningAll().executeTakeFirstOrThrow(),
    byEmail: (email: string) => db.selectFrom('platform_admins').selectAll().where('email', '=', email).executeTakeFirst(),
    byId: (id: string) => db.selectFrom('platform_admins').selectAll().where('id', '=', id).executeTakeFirst(),
    update: (id: string, set: Updateable<PlatformAdminsTable>, tx: Kysely<Database> = db) =>
      tx.updateTable('platform_admins').set({ ...set, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),

    withPlainTotp: () =>
      db
        .selectFrom('platform_admins')
        .select(['id', 'mfa_secret', 'mfa_pending_secret'])
        .where((eb) => eb.or([
          eb.and([eb('mfa_secret', 'is not', null), eb('mfa_secret', 'not like', 'kh1.%')]),
          eb.and([eb('mfa_pending_secret', 'is not', null), eb('mfa_pending_secret', 'not like', 'kh1.%')]),
        ]))
        .execute(),
    // sessions and refresh tokens are written by domains/sessions
    /** The admin and one of their sessions in one read, inside the caller's transaction. */
    sessionState: (tx: Kysely<Database>, adminId: string, sessionId: string) =>
      tx
        .selectFrom('platform_admins as a')
        .innerJoin('platform_sessions as s', 's.admin_id', 'a.id')
        .select(['a.role', 'a.is_active', 's.revoked_at', 's.expires_at'])
        .where('a.id', '=', adminId)
        .where('s.id', '=', sessionId)
        .executeTakeFirst(),
  };
}
export type PlatformAdminsRepo = ReturnType<typeof createPlatformAdminsRepo>;
