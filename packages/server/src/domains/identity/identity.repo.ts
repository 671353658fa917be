import { type Insertable, type Kysely, type Selectable, type Updateable, sql } from 'kysely';
import type { Database, SignupInvitationsTable, UserRole, UsersTable } from '../../platform/db/schema.js';
import type { PlatformTx, TenantTx } from '../../platform/db/tenancy.js';

export type UserRow = Selectable<UsersTable>;

/** SQL for users, sessions, refresh tokens and recovery codes — always inside a tenant's transaction. */
export function createIdentityRepo(db: Kysely<Database>) {
  return {
    // users
    insertUser: (tx: TenantTx, row: Omit<Insertable<UsersTable>, 'tenant_id'> & { tenant_id: string }) =>
      tx.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow(),
    userById: (tx: TenantTx, id: string, opts: { lock?: boolean } = {}) => {
      const q = tx.selectFrom('users').selectAll().where('id', '=', id);
      return (opts.lock ? q.forUpdate() : q).executeTakeFirst();
    },
    userByEmail: (tx: TenantTx, email: string) => tx.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst(),
    userByInviteHash: (tx: TenantTx, hash: string) =>
      tx.selectFrom('users').selectAll().where('invite_token_hash', '=', hash).forUpdate().executeTakeFirst(),
    updateUser: (tx: TenantTx, id: string, set: Updateable<UsersTable>) =>
      tx.updateTable('users').set({ ...set, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),
    deleteUser: (tx: TenantTx, id: string) => tx.deleteFrom('users').where('id', '=', id).execute(),
    listUsers: (tx: TenantTx, limit: number, offset: number) =>
      tx.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').limit(limit).offset(offset).execute(),
    countUsers: async (tx: TenantTx) =>
      Number((await tx.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n),
    /** The addresses of active users holding one of `roles` (who notifications go to). */
    activeEmailsByRole: async (tx: TenantTx, roles: readonly UserRole[]) =>
      roles.length === 0 ? [] : (await tx.selectFrom('users').select('email').where('is_active', '=', true).where('role', 'in', [...roles]).orderBy('email').execute()).map((r) => r.email),
    /** Active owners, locked: changes that could remove the last owner serialise on these rows. */
    lockActiveOwners: (tx: TenantTx) =>
      tx.selectFrom('users').select('id').where('role', '=', 'owner').where('is_active', '=', true).forUpdate().execute(),

    // sessions and refresh tokens are written by domains/sessions
    /** Everything an authenticated request needs, in one round trip. */
    principalState: (tx: TenantTx, userId: string, sessionId: string) =>
      tx
        .selectFrom('users as u')
        .innerJoin('tenants as t', 't.id', 'u.tenant_id')
        .leftJoin('sessions as s', (j) => j.onRef('s.user_id', '=', 'u.id').on('s.id', '=', sessionId))
        .select(['u.role', 'u.is_active', 'u.must_change_password', 't.status as tenant_status', 't.deleted_at as tenant_deleted_at', 's.revoked_at', 's.expires_at as session_expires_at', 's.id as session_id'])
        .where('u.id', '=', userId)
        .executeTakeFirst(),

    // recovery codes
    replaceRecoveryCodes: async (tx: TenantTx, tenantId: string, userId: string, hashes: string[]) => {
      await tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
      await tx.insertInto('mfa_recovery_codes').values(hashes.map((code_hash) => ({ tenant_id: tenantId, user_id: userId, code_hash }))).execute();
    },
    useRecoveryCode: async (tx: TenantTx, userId: string, hash: string, at: Date) =>
      (
        await tx
          .updateTable('mfa_recovery_codes')
          .set({ used_at: at })
          .where('user_id', '=', userId)
          .where('code_hash', '=', hash)
          .where('used_at', 'is', null)
          .executeTakeFirst()
      ).numUpdatedRows > 0n,
    deleteRecoveryCodes: (tx: TenantTx, userId: string) => tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute(),

    /** The tenant's user quota, locked so concurrent invitations cannot both take the last seat. */
    tenantMaxUsersForUpdate: async (tx: TenantTx) =>
      (await tx.selectFrom('tenants').select('max_users').forUpdate().executeTakeFirstOrThrow()).max_users,

    async inviteTenant(hash: string): Promise<string | undefined> {
      const { rows } = await sql<{ id: string | null }>`select keyhold_invite_tenant(${hash}) as id`.execute(db);
      return rows[0]?.id ?? undefined;
    },

    // signup invitations (platform-level: no tenant exists yet when one is issued)
    insertSignupInvitation: (tx: PlatformTx, row: Insertable<SignupInvitationsTable>) =>
      tx.insertInto('signup_invitations').values(row).returning(['id', 'email']).executeTakeFirstOrThrow(),
    /** Marks an invitation used by `tenantId`, if it is unused, unexpired and (when it names one) for `email`. */
    useSignupInvitation: async (tx: TenantTx, v: { hash: string; email: string; tenantId: string; now: Date }) =>
      (
        await tx
          .updateTable('signup_invitations')
          .set({ used_at: v.now, used_by_tenant: v.tenantId })
          .where('token_hash', '=', v.hash)
          .where('used_at', 'is', null)
          .where('expires_at', '>', v.now)
          .where((eb) => eb.or([eb('email', 'is', null), eb('email', '=', v.email)]))
          .executeTakeFirst()
      ).numUpdatedRows > 0n,

    /** Tenants whose users hold TOTP secrets stored before the vault (ids only). */
    async tenantsWithPlainTotp(): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`select keyhold_tenants_with_plain_totp() as id`.execute(db);
      return rows.map((r) => r.id);
    },
    usersWithPlainTotp: (tx: TenantTx) =>
      tx
        .selectFrom('users')
        .select(['id', 'mfa_secret', 'mfa_pending_secret'])
        .where((eb) => eb.or([
          eb.and([eb('mfa_secret', 'is not', null), eb('mfa_secret', 'not like', 'kh1.%')]),
          eb.and([eb('mfa_pending_secret', 'is not', null), eb('mfa_pending_secret', 'not like', 'kh1.%')]),
        ]))
        .forUpdate()
        .execute(),
  };
}
export type IdentityRepo = ReturnType<typeof createIdentityRepo>;
