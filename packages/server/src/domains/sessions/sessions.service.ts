import type { Clock } from '../../platform/clock.js';
import type { PrincipalCtx, RequestMeta } from '../../platform/context.js';
import { type ScopedTx, type Tenancy, isUuid } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import { ACCESS_TTL_SECONDS, type TokenSigner, newOpaqueToken, sha256 } from '../identity/tokens.js';
import type { SessionsRepo } from './sessions.repo.js';

export const REFRESH_TTL_MS = 7 * 86_400_000;
const REFRESH_PREFIX = 'khr_';

export type TokenPair = { accessToken: string; refreshToken: string; tokenType: 'Bearer'; expiresIn: number };

/** Who holds a session: a tenant user (`tenantId` set) or a platform admin (`tenantId` null). */
export type SessionSubject = { id: string; tenantId: string | null; role: string };

/** What differs between the two kinds of signed-in principals; everything else is shared below. */
export type SessionKind = {
  /** Audit actions are `<auditPrefix>.refresh`, `.refresh_token_reuse`, `.logout`, `.session_revoke`. */
  auditPrefix: 'auth' | 'platform_admin';
  actorType: 'user' | 'platform_admin';
  /** The audit entity type of a session. */
  sessionEntity: 'session' | 'platform_session';
  signer: TokenSigner;
  /** How long one sign-in lasts, however often it is refreshed. */
  sessionMaxMs: number;
  /**
   * The subject's role if it may go on holding `sessionId`, read with the session in one round
   * trip inside the kind's scope; throws (session ended, tenant suspended) otherwise.
   */
  standing(tx: ScopedTx, subjectId: string, sessionId: string, now: Date): Promise<Standing>;
};

/** A subject's standing: its role, and whether it must change its password before anything else. */
export type Standing = { role: string; passwordChangeRequired?: boolean };

export type SessionsDeps = {
  repo: SessionsRepo;
  tenancy: Tenancy;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  kind: SessionKind;
};

export const sessionEnded = () => new AppError('TOKEN_INVALID', 'This session has ended; sign in again');
const invalidRefreshToken = () => new AppError('TOKEN_INVALID', 'The refresh token is not valid');

/**
 * Sign-in sessions of one kind of principal (tenant users or platform admins): one session per
 * sign-in, a short-lived access token, and a refresh token that rotates on every use. Presenting a
 * rotated refresh token again means it was copied: the whole session (every token of that sign-in)
 * ends, audited with its holder as actor.
 */
export function createSessions(deps: SessionsDeps) {
  const { repo, kind, clock } = deps;
  const inScope = <T>(tenantId: string | null, fn: (tx: ScopedTx) => Promise<T>) =>
    tenantId === null ? deps.tenancy.withPlatform(fn) : deps.tenancy.withTenant(tenantId, fn);
  const holder = (subjectId: string, tenantId: string | null, meta: RequestMeta): PrincipalCtx => ({ ...meta, tenantId, actor: { type: kind.actorType, id: subjectId } });
  const sessionEntity = (id: string) => ({ type: kind.sessionEntity, id });

  /** One sign-in, in the caller's transaction (which audits the sign-in itself). */
  async function start(tx: ScopedTx, subject: SessionSubject, meta: RequestMeta): Promise<TokenPair> {
    const session = await repo.insertSession(tx, {
      tenantId: subject.tenantId,
      subjectId: subject.id,
      ip: meta.ip ?? null,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      expiresAt: new Date(clock().getTime() + kind.sessionMaxMs),
    });
    return issue(tx, subject, session.id);
  }

  /** `tx`: the rotation's transaction too, so the old token dies only together with the new one's birth. */
  async function issue(tx: ScopedTx, subject: SessionSubject, sessionId: string): Promise<TokenPair> {
    const refresh = newOpaqueToken(REFRESH_PREFIX);
    await repo.insertRefreshToken(tx, { tenantId: subject.tenantId, sessionId, hash: refresh.hash, expiresAt: new Date(clock().getTime() + REFRESH_TTL_MS) });
    const accessToken = await kind.signer.signAccess({ sub: subject.id, ...(subject.tenantId ? { tid: subject.tenantId } : {}), role: subject.role, sid: sessionId });
    return { accessToken, refreshToken: refresh.token, tokenType: 'Bearer', expiresIn: ACCESS_TTL_SECONDS };
  }

  /** Exchanges a refresh token for a new pair; the old one dies. Everything is read and written in one transaction. */
  async function refresh(meta: RequestMeta, token: string | undefined): Promise<TokenPair> {
    if (!token?.startsWith(REFRESH_PREFIX) || token.length > 200) throw invalidRefreshToken();
    const hash = sha256(token);
    const tenantId = await repo.scopeOfRefreshToken(hash);
    if (tenantId === undefined) throw invalidRefreshToken();
    const now = clock();
    const outcome = await inScope(tenantId, async (tx): Promise<TokenPair | 'reused'> => {
      const row = await repo.refreshTokenForUpdate(tx, hash);
      if (!row) throw sessionEnded();
      if (row.rotated_at) {
        await repo.revokeSession(tx, row.session_id, 'refresh_token_reuse', now);
        await deps.audit.record(holder(row.subject_id, tenantId, meta), { action: `${kind.auditPrefix}.refresh_token_reuse`, entity: sessionEntity(row.session_id) }, tx);
        return 'reused';
      }
      if (row.revoked_at || row.expires_at <= now || row.session_expires_at <= now) throw sessionEnded();
      const { role } = await kind.standing(tx, row.subject_id, row.session_id, now);
      await repo.markRotated(tx, row.id, now);
      await repo.touchSession(tx, row.session_id, now);
      await deps.audit.record(holder(row.subject_id, tenantId, meta), { action: `${kind.auditPrefix}.refresh`, entity: sessionEntity(row.session_id) }, tx);
      return issue(tx, { id: row.subject_id, tenantId, role }, row.session_id);
    });
    // Thrown after the commit: the session's end and its audit entry must stay.
    if (outcome === 'reused') throw new AppError('TOKEN_INVALID', 'This refresh token was already used; the session has been ended for safety. Sign in again.');
    return outcome;
  }

  /** The live session an access token stands for, checked against the database on every call. */
  async function authenticate(token: string): Promise<SessionSubject & { sessionId: string; passwordChangeRequired: boolean }> {
    const claims = await kind.signer.verifyAccess(token);
    const tenantId = claims.tid ?? null;
    const scopeOk = repo.tenantScoped ? tenantId !== null && isUuid(tenantId) : tenantId === null;
    if (!scopeOk || !isUuid(claims.sub) || !isUuid(claims.sid)) throw new AppError('TOKEN_INVALID', 'The token is not valid');
    const { role, passwordChangeRequired = false } = await inScope(tenantId, (tx) => kind.standing(tx, claims.sub, claims.sid, clock()));
    return { id: claims.sub, tenantId, role, sessionId: claims.sid, passwordChangeRequired };
  }

  /** Ends the caller's current session. */
  async function logout(ctx: PrincipalCtx, sessionId: string) {
    await inScope(ctx.tenantId, async (tx) => {
      await repo.revokeSession(tx, sessionId, 'logout', clock());
      await deps.audit.record(ctx, { action: `${kind.auditPrefix}.logout`, entity: sessionEntity(sessionId) }, tx);
    });
  }

  async function list(ctx: PrincipalCtx, subjectId: string, currentSessionId?: string) {
    const rows = await inScope(ctx.tenantId, (tx) => repo.activeSessions(tx, subjectId, clock()));
    return rows.map((r) => ({
      id: r.id,
      current: r.id === currentSessionId,
      ip: r.ip,
      userAgent: r.user_agent,
      createdAt: r.created_at.toISOString(),
      lastUsedAt: r.last_used_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
    }));
  }

  /** Ends one of the subject's own live sessions; anyone else's (or an ended one) answers 404. */
  async function revoke(ctx: PrincipalCtx, subjectId: string, sessionId: string) {
    await inScope(ctx.tenantId, async (tx) => {
      if ((await repo.revokeSession(tx, sessionId, 'revoked_by_user', clock(), subjectId)) === 0) throw new AppError('NOT_FOUND', 'Session not found');
      await deps.audit.record(ctx, { action: `${kind.auditPrefix}.session_revoke`, entity: sessionEntity(sessionId) }, tx);
    });
  }

  /** Ends every session of a subject (disabled, password changed), but `keep`, in the caller's transaction. */
  const endAll = (tx: ScopedTx, subjectId: string, reason: 'user_disabled' | 'password_changed', keep?: string) =>
    repo.revokeSubjectSessions(tx, subjectId, reason, clock(), keep);

  return { start, refresh, authenticate, logout, list, revoke, endAll };
}
export type Sessions = ReturnType<typeof createSessions>;
