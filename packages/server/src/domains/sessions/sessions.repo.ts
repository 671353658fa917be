import { type Kysely, sql } from 'kysely';
import type { Database, SessionRevokedReason } from '../../platform/db/schema.js';
import type { ScopedTx } from '../../platform/db/tenancy.js';

/**
 * Where one kind of principal keeps its sessions. Both kinds' tables have the same columns but
 * the subject's (and the tenant's, for tenant users), so every query below is written once.
 */
export type SessionTables =
  | { sessions: 'sessions'; refreshTokens: 'refresh_tokens'; subject: 'user_id'; tenantScoped: true }
  | { sessions: 'platform_sessions'; refreshTokens: 'platform_refresh_tokens'; subject: 'admin_id'; tenantScoped: false };

export const TENANT_SESSION_TABLES: SessionTables = { sessions: 'sessions', refreshTokens: 'refresh_tokens', subject: 'user_id', tenantScoped: true };
export const PLATFORM_SESSION_TABLES: SessionTables = { sessions: 'platform_sessions', refreshTokens: 'platform_refresh_tokens', subject: 'admin_id', tenantScoped: false };

export type RefreshTokenRow = {
  id: string;
  session_id: string;
  expires_at: Date;
  rotated_at: Date | null;
  subject_id: string;
  revoked_at: Date | null;
  session_expires_at: Date;
};

export type SessionRow = { id: string; ip: string | null; user_agent: string | null; created_at: Date; last_used_at: Date; expires_at: Date };

/** SQL for sessions and refresh tokens of one kind; always inside that kind's scope (tenant or platform). */
export function createSessionsRepo(db: Kysely<Database>, t: SessionTables) {
  // The table names come from the kind, so the typed schema cannot follow them; rows are typed above.
  const q = (tx: ScopedTx) => tx as unknown as Kysely<any>;
  const tenantColumn = (tenantId: string | null) => (t.tenantScoped ? { tenant_id: tenantId } : {});
  return {
    tenantScoped: t.tenantScoped,
    /** The tenant a refresh token belongs to (ids only, SECURITY DEFINER); null for platform tokens, undefined when unknown. */
    async scopeOfRefreshToken(hash: string): Promise<string | null | undefined> {
      if (!t.tenantScoped) return null;
      const { rows } = await sql<{ id: string | null }>`select keyhold_refresh_token_tenant(${hash}) as id`.execute(db);
      return rows[0]?.id ?? undefined;
    },
    insertSession: (tx: ScopedTx, row: { tenantId: string | null; subjectId: string; ip: string | null; userAgent: string | null; expiresAt: Date }) =>
      q(tx)
        .insertInto(t.sessions)
        .values({ ...tenantColumn(row.tenantId), [t.subject]: row.subjectId, ip: row.ip, user_agent: row.userAgent, expires_at: row.expiresAt })
        .returning('id')
        .$castTo<{ id: string }>()
        .executeTakeFirstOrThrow(),
    insertRefreshToken: (tx: ScopedTx, row: { tenantId: string | null; sessionId: string; hash: string; expiresAt: Date }) =>
      q(tx).insertInto(t.refreshTokens).values({ ...tenantColumn(row.tenantId), session_id: row.sessionId, token_hash: row.hash, expires_at: row.expiresAt }).execute(),
    /** Locks the token row: one refresh at a time per token, so a replay is always seen as one. */
    refreshTokenForUpdate: (tx: ScopedTx, hash: string) =>
      q(tx)
        .selectFrom(`${t.refreshTokens} as r`)
        .innerJoin(`${t.sessions} as s`, 's.id', 'r.session_id')
        .select(['r.id', 'r.session_id', 'r.expires_at', 'r.rotated_at', `s.${t.subject} as subject_id`, 's.revoked_at', 's.expires_at as session_expires_at'])
        .where('r.token_hash', '=', hash)
        .forUpdate()
        .$castTo<RefreshTokenRow>()
        .executeTakeFirst(),
    markRotated: (tx: ScopedTx, id: string, at: Date) => q(tx).updateTable(t.refreshTokens).set({ rotated_at: at }).where('id', '=', id).execute(),
    touchSession: (tx: ScopedTx, id: string, at: Date) => q(tx).updateTable(t.sessions).set({ last_used_at: at }).where('id', '=', id).execute(),
    /** Ends one session; `subjectId` limits it to that subject's (0 rows: not theirs, or already ended). */
    async revokeSession(tx: ScopedTx, id: string, reason: SessionRevokedReason, at: Date, subjectId?: string): Promise<number> {
      let u = q(tx).updateTable(t.sessions).set({ revoked_at: at, revoked_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null);
      if (subjectId) u = u.where(t.subject, '=', subjectId).where('expires_at', '>', at);
      return Number((await u.executeTakeFirst()).numUpdatedRows);
    },
    /** Ends every session of a subject, except `keep` (the caller's own, when changing a password). */
    revokeSubjectSessions: (tx: ScopedTx, subjectId: string, reason: SessionRevokedReason, at: Date, keep?: string) => {
      let u = q(tx).updateTable(t.sessions).set({ revoked_at: at, revoked_reason: reason }).where(t.subject, '=', subjectId).where('revoked_at', 'is', null);
      if (keep) u = u.where('id', '<>', keep);
      return u.execute();
    },
    activeSessions: (tx: ScopedTx, subjectId: string, now: Date) =>
      q(tx)
        .selectFrom(t.sessions)
        .select(['id', 'ip', 'user_agent', 'created_at', 'last_used_at', 'expires_at'])
        .where(t.subject, '=', subjectId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('last_used_at', 'desc')
        .$castTo<SessionRow>()
        .execute(),
  };
}
export type SessionsRepo = ReturnType<typeof createSessionsRepo>;
