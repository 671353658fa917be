import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { RequestMeta } from '../../platform/context.js';
import type { UserRole } from '../../platform/db/schema.js';
import { type Tenancy, type TenantTx, isUuid } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { SignupMode } from '../../platform/config.js';
import type { Sessions, TokenPair } from '../sessions/sessions.service.js';
import { SLUG_PATTERN, type Tenant, type TenantsService, assertTenantOpen, withSlugConflict } from '../tenants/tenants.service.js';
import { type AttemptLimiter, attemptKeys } from './attempts.js';
import type { IdentityRepo, UserRow } from './identity.repo.js';
import type { MfaService } from './mfa.service.js';
import { assertPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import type { SignupInvitations } from './signup-invitations.js';
import type { TenantPrincipal } from './principal.js';
import type { TokenSigner } from './tokens.js';
import { type User, toUser } from './users.view.js';

const email = z.string().trim().toLowerCase().email().max(254);

export const SignupInput = z.object({
  organizationName: z.string().trim().min(1).max(200),
  slug: z.string().trim().toLowerCase().regex(SLUG_PATTERN, 'lowercase letters, digits and inner hyphens, 1–63 characters').optional(),
  email,
  password: z.string(),
  invitation: z.string().max(200).optional(),
});
export const LoginInput = z.object({ tenant: z.string().trim().toLowerCase().min(1).max(63), email, password: z.string().max(1024) });
export const MfaLoginInput = z.object({ mfaToken: z.string().min(1).max(4096), code: z.string().trim().min(1).max(64) });

export type SignedIn = TokenPair & { user: User; tenant: Pick<Tenant, 'id' | 'slug' | 'name' | 'status'> };
export type LoginResult = SignedIn | { mfaRequired: true; mfaToken: string };

export type AuthDeps = {
  repo: IdentityRepo;
  tenancy: Tenancy;
  tenants: Pick<TenantsService, 'createInTx' | 'idBySlug' | 'get'>;
  audit: Pick<AuditService, 'record'>;
  attempts: AttemptLimiter;
  mfa: Pick<MfaService, 'acceptCode'>;
  /** Signs MFA challenge tokens; access tokens are the sessions' business. */
  signer: Pick<TokenSigner, 'signMfa' | 'verifyMfa'>;
  sessions: Sessions;
  /** Who may create an organization (KEYHOLD_SIGNUP). */
  signup: { mode: SignupMode; invitations: Pick<SignupInvitations, 'use'> };
  clock: Clock;
};

const invalidCredentials = () => new AppError('INVALID_CREDENTIALS', 'The email or password is incorrect');

export function createAuthService(deps: AuthDeps) {
  const { repo, tenancy, audit, clock } = deps;

  /** One sign-in, in the caller's transaction. */
  async function startSession(tx: TenantTx, user: UserRow, meta: RequestMeta): Promise<TokenPair> {
    await repo.updateUser(tx, user.id, { last_login_at: clock() });
    return deps.sessions.start(tx, { id: user.id, tenantId: user.tenant_id, role: user.role }, meta);
  }

  const tenantView = (t: Tenant) => ({ id: t.id, slug: t.slug, name: t.name, status: t.status });
  const userCtx = (user: Pick<UserRow, 'id' | 'tenant_id'>, meta: RequestMeta) => ({ ...meta, tenantId: user.tenant_id, actor: { type: 'user' as const, id: user.id } });

  /**
   * Creates a tenant (on a trial, unless trials are off) and its owner, signed in — when the
   * operator lets anyone sign up, or the caller holds a platform-issued invitation.
   */
  async function signup(meta: RequestMeta, input: z.input<typeof SignupInput>): Promise<SignedIn> {
    const { mode, invitations } = deps.signup;
    if (mode === 'closed') throw new AppError('SIGNUP_CLOSED', 'Sign-up is closed on this Keyhold; its operator creates organizations');
    const data = SignupInput.parse(input);
    if (mode === 'invite' && !data.invitation) throw new AppError('SIGNUP_CLOSED', 'Sign-up on this Keyhold needs an invitation from its operator (invitation)');
    assertPasswordPolicy(data.password);
    const slug = data.slug ?? slugFrom(data.organizationName);
    const passwordHash = await hashPassword(data.password);
    const tenantId = randomUUID();
    const userId = randomUUID();
    return withSlugConflict(slug, () =>
      tenancy.withTenant(tenantId, async (tx) => {
        const ctx = userCtx({ id: userId, tenant_id: tenantId }, meta);
        const tenant = await deps.tenants.createInTx(tx, ctx, { slug, name: data.organizationName });
        const user = await repo.insertUser(tx, { id: userId, tenant_id: tenantId, email: data.email, password_hash: passwordHash, role: 'owner' });
        if (mode === 'invite') await invitations.use(tx, data.invitation!, data.email, tenantId);
        await audit.record(ctx, { action: 'user.signup', entity: { type: 'user', id: userId }, metadata: { email: data.email, role: 'owner' } }, tx);
        const tokens = await startSession(tx, user, meta);
        return { ...tokens, user: toUser(user), tenant: tenantView(tenant) };
      }),
    );
  }

  async function login(meta: RequestMeta, input: z.input<typeof LoginInput>): Promise<LoginResult> {
    const data = LoginInput.parse(input);
    const accountKey = attemptKeys.account(data.tenant, data.email);
    // Counted before the check, so parallel guesses count against each other; a wrong password
    // leaves it counted, a right one releases it.
    const attempt = await deps.attempts.reserve([accountKey, attemptKeys.ip(meta.ip)]);
    const tenantId = await deps.tenants.idBySlug(data.tenant);
    const user = tenantId ? await tenancy.withTenant(tenantId, (tx) => repo.userByEmail(tx, data.email)) : undefined;
    const passwordOk = await verifyPassword(user?.password_hash ?? null, data.password);
    if (!user || !passwordOk || !user.is_active) {
      if (user) await audit.record(userCtx(user, meta), { action: 'auth.login_failed', entity: { type: 'user', id: user.id }, metadata: { reason: passwordOk ? 'inactive' : 'password' } });
      throw invalidCredentials();
    }
    await attempt.release({ reset: [accountKey] });
    const tenant = await deps.tenants.get(user.tenant_id);
    assertTenantOpen(tenant.status);
    if (user.mfa_secret) {
      return { mfaRequired: true, mfaToken: await deps.signer.signMfa({ sub: user.id, tid: user.tenant_id }) };
    }
    return tenancy.withTenant(user.tenant_id, async (tx) => {
      await audit.record(userCtx(user, meta), { action: 'auth.login', entity: { type: 'user', id: user.id }, metadata: { mfa: false } }, tx);
      return { ...(await startSession(tx, user, meta)), user: toUser(user), tenant: tenantView(tenant) };
    });
  }

  /** Second step of a sign-in with MFA: a TOTP or a recovery code. */
  async function completeMfaLogin(meta: RequestMeta, input: z.input<typeof MfaLoginInput>): Promise<SignedIn> {
    const data = MfaLoginInput.parse(input);
    const claims = await deps.signer.verifyMfa(data.mfaToken);
    if (!claims.tid || !isUuid(claims.tid)) throw new AppError('TOKEN_INVALID', 'The token is not valid');
    const tenantId = claims.tid;
    const tenant = await deps.tenants.get(tenantId);
    assertTenantOpen(tenant.status);
    const attempt = await deps.attempts.reserve([attemptKeys.mfa(claims.sub), attemptKeys.ip(meta.ip)]);
    const result = await tenancy.withTenant(tenantId, async (tx) => {
      const user = await repo.userById(tx, claims.sub, { lock: true });
      if (!user?.is_active || !user.mfa_secret) return undefined;
      const method = await deps.mfa.acceptCode(tx, user, data.code);
      if (!method) return undefined;
      await audit.record(userCtx(user, meta), { action: 'auth.login', entity: { type: 'user', id: user.id }, metadata: { mfa: true, method } }, tx);
      return { ...(await startSession(tx, user, meta)), user: toUser(user), tenant: tenantView(tenant) };
    }).catch(attempt.releaseAndThrow);
    if (!result) throw new AppError('INVALID_CREDENTIALS', 'The verification code is not valid');
    await attempt.release();
    return result;
  }

  /**
   * Exchanges a refresh token for a new pair. The old token dies; presenting it again means it was
   * stolen or replayed, and ends the whole session (every token rotated from that sign-in).
   */
  const refresh = (meta: RequestMeta, refreshToken: string | undefined): Promise<TokenPair> => deps.sessions.refresh(meta, refreshToken);

  /** Resolves an access token to its principal, checking session, user and tenant on every call. */
  async function authenticate(token: string, meta: RequestMeta): Promise<TenantPrincipal> {
    const s = await deps.sessions.authenticate(token);
    return {
      ...meta, tenantId: s.tenantId!, actor: { type: 'user', id: s.id }, role: s.role as UserRole, userId: s.id, sessionId: s.sessionId,
      ...(s.passwordChangeRequired ? { passwordChangeRequired: true as const } : {}),
    };
  }

  async function logout(p: TenantPrincipal) {
    if (p.sessionId) await deps.sessions.logout(p, p.sessionId);
  }

  async function listSessions(p: TenantPrincipal) {
    return p.userId ? deps.sessions.list(p, p.userId, p.sessionId) : [];
  }

  /** Ends one of the caller's own sessions; anyone else's session id answers 404. */
  async function revokeSession(p: TenantPrincipal, sessionId: string) {
    if (!p.userId) throw new AppError('NOT_FOUND', 'Session not found');
    await deps.sessions.revoke(p, p.userId, sessionId);
  }

  async function me(p: TenantPrincipal) {
    const tenant = await deps.tenants.get(p.tenantId);
    const user = p.userId ? await tenancy.withTenant(p.tenantId, (tx) => repo.userById(tx, p.userId!)) : undefined;
    return { user: user ? toUser(user) : null, tenant: tenantView(tenant), role: p.role, scopes: p.scopes ? [...p.scopes] : null };
  }

  /** Changes the caller's password; every other session of the user ends. */
  async function changePassword(p: TenantPrincipal, input: { currentPassword: string; newPassword: string }) {
    if (!p.userId) throw new AppError('FORBIDDEN', 'Only a signed-in user can change a password');
    assertPasswordPolicy(input.newPassword, 'newPassword');
    const user = await tenancy.withTenant(p.tenantId, (tx) => repo.userById(tx, p.userId!));
    const attempt = await deps.attempts.reserve([attemptKeys.mfa(p.userId)]);
    if (!user || !(await verifyPassword(user.password_hash, input.currentPassword))) {
      throw new AppError('INVALID_CREDENTIALS', 'The current password is incorrect');
    }
    await attempt.release();
    const passwordHash = await hashPassword(input.newPassword);
    await tenancy.withTenant(p.tenantId, async (tx) => {
      await repo.updateUser(tx, user.id, { password_hash: passwordHash, must_change_password: false });
      await deps.sessions.endAll(tx, user.id, 'password_changed', p.sessionId);
      await audit.record(p, { action: 'user.password_change', entity: { type: 'user', id: user.id } }, tx);
    });
  }

  /** Who may create an organization here (KEYHOLD_SIGNUP), for sign-in pages to offer sign-up or not. */
  const signupMode = () => deps.signup.mode;

  return { signup, signupMode, login, completeMfaLogin, refresh, authenticate, logout, listSessions, revokeSession, me, changePassword };
}
export type AuthService = ReturnType<typeof createAuthService>;

/** A URL-safe slug from an organization name, with a random suffix so it is free almost surely. */
function slugFrom(name: string): string {
  const base = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'org';
  return `${base}-${randomUUID().slice(0, 6)}`;
}
