import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { PrincipalCtx, RequestMeta } from '../../platform/context.js';
import { Secret } from '../../platform/crypto/secret.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { PLATFORM_ROLES, type PlatformRole } from '../../platform/db/schema.js';
import { type Tenancy, isUuid } from '../../platform/db/tenancy.js';
import { type Vault, isCiphertext } from '../vault/vault.service.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import { type AttemptLimiter, attemptKeys } from '../identity/attempts.js';
import { assertPasswordPolicy, hashPassword, verifyPassword } from '../identity/passwords.js';
import type { TokenSigner } from '../identity/tokens.js';
import type { Sessions, TokenPair } from '../sessions/sessions.service.js';
import { acceptTotp, newTotpSecret, otpauthUrl } from '../identity/totp.js';
import type { PlatformAdminRow, PlatformAdminsRepo } from './platform-admins.repo.js';

/** An authenticated platform admin. Never acts inside a tenant's context by itself. */
export type AdminPrincipal = PrincipalCtx & { tenantId: null; adminId: string; role: PlatformRole; sessionId: string };

export const CreateAdminInput = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  role: z.enum(PLATFORM_ROLES),
  password: z.string(),
});

export type AdminView = { id: string; email: string; role: PlatformRole; mfaEnabled: boolean; lastLoginAt: string | null };
const view = (a: PlatformAdminRow): AdminView => ({ id: a.id, email: a.email, role: a.role, mfaEnabled: a.mfa_secret !== null, lastLoginAt: a.last_login_at?.toISOString() ?? null });

export type AdminAuthDeps = {
  repo: PlatformAdminsRepo;
  audit: Pick<AuditService, 'record'>;
  attempts: AttemptLimiter;
  /** Signs MFA challenge tokens; access tokens are the sessions' business. */
  signer: Pick<TokenSigner, 'signMfa' | 'verifyMfa'>;
  sessions: Sessions;
  /** Admin TOTP secrets are platform-scope vault records; sign-ins are written in the platform scope. */
  tenancy: Pick<Tenancy, 'withPlatform'>;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  clock: Clock;
};

export const ADMIN_TOTP_PURPOSE = { pending: 'platform_admin.mfa_pending_secret', active: 'platform_admin.mfa_secret' } as const;

const invalidCredentials = () => new AppError('INVALID_CREDENTIALS', 'The email or password is incorrect');

/**
 * Platform-admin sign-in, mirroring the tenant flow with its own tables, signing key and audience
 * (so a tenant token is never accepted here, nor an admin token by tenant routes).
 */
export function createAdminAuthService(deps: AdminAuthDeps) {
  const { repo, audit, clock } = deps;
  const encryptSecret = (adminId: string, kind: keyof typeof ADMIN_TOTP_PURPOSE, secret: Secret) =>
    deps.tenancy.withPlatform((tx) => deps.vault.encrypt(tx, ADMIN_TOTP_PURPOSE[kind], adminId, secret));
  const decryptSecret = (adminId: string, kind: keyof typeof ADMIN_TOTP_PURPOSE, ciphertext: string) =>
    deps.tenancy.withPlatform((tx) => deps.vault.decrypt(tx, ADMIN_TOTP_PURPOSE[kind], adminId, ciphertext));
  const ctxOf = (adminId: string, meta: RequestMeta): PrincipalCtx => ({ ...meta, tenantId: null, actor: { type: 'platform_admin', id: adminId } });

  async function create(ctx: PrincipalCtx, input: z.input<typeof CreateAdminInput>): Promise<AdminView> {
    const data = CreateAdminInput.parse(input);
    assertPasswordPolicy(data.password);
    try {
      const row = await repo.insert({ email: data.email, role: data.role, password_hash: await hashPassword(data.password) });
      await audit.record({ ...ctx, tenantId: null }, { action: 'platform_admin.create', entity: { type: 'platform_admin', id: row.id }, metadata: { email: data.email, role: data.role } });
      return view(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('CONFLICT', `A platform admin with email '${data.email}' already exists`);
      throw err;
    }
  }

  /** One sign-in: the session, the admin's last sign-in time and its audit entry commit together. */
  async function startSession(admin: PlatformAdminRow, meta: RequestMeta): Promise<TokenPair & { admin: AdminView }> {
    return deps.tenancy.withPlatform(async (tx) => {
      await repo.update(admin.id, { last_login_at: clock() }, tx);
      await audit.record(ctxOf(admin.id, meta), { action: 'platform_admin.login', entity: { type: 'platform_admin', id: admin.id }, metadata: { mfa: admin.mfa_secret !== null } }, tx);
      return { ...(await deps.sessions.start(tx, { id: admin.id, tenantId: null, role: admin.role }, meta)), admin: view(admin) };
    });
  }

  async function login(meta: RequestMeta, input: { email: string; password: string }) {
    const email = input.email.trim().toLowerCase();
    const accountKey = attemptKeys.account('platform', email);
    // Counted before the check (see AttemptLimiter); a wrong password leaves it counted.
    const attempt = await deps.attempts.reserve([accountKey, attemptKeys.ip(meta.ip)]);
    const admin = await repo.byEmail(email);
    const ok = await verifyPassword(admin?.password_hash ?? null, input.password);
    if (!admin || !ok || !admin.is_active) throw invalidCredentials();
    await attempt.release({ reset: [accountKey] });
    if (admin.mfa_secret) return { mfaRequired: true as const, mfaToken: await deps.signer.signMfa({ sub: admin.id }) };
    return startSession(admin, meta);
  }

  async function completeMfaLogin(meta: RequestMeta, input: { mfaToken: string; code: string }) {
    const claims = await deps.signer.verifyMfa(input.mfaToken);
    const attempt = await deps.attempts.reserve([attemptKeys.mfa(claims.sub), attemptKeys.ip(meta.ip)]);
    const admin = isUuid(claims.sub) ? await repo.byId(claims.sub) : undefined;
    const step = admin?.mfa_secret && admin.is_active
      ? await acceptTotp(await decryptSecret(admin.id, 'active', admin.mfa_secret), input.code.trim(), admin.mfa_last_step === null ? null : Number(admin.mfa_last_step), clock())
      : null;
    if (!admin || step === null) throw new AppError('INVALID_CREDENTIALS', 'The verification code is not valid');
    await attempt.release();
    await repo.update(admin.id, { mfa_last_step: step });
    return startSession(admin, meta);
  }

  /** Rotates an admin's refresh token; reuse of a rotated one ends the session (see domains/sessions). */
  const refresh = (meta: RequestMeta, token: string | undefined): Promise<TokenPair> => deps.sessions.refresh(meta, token);

  async function authenticate(token: string, meta: RequestMeta): Promise<AdminPrincipal> {
    const s = await deps.sessions.authenticate(token);
    return { ...ctxOf(s.id, meta), tenantId: null, adminId: s.id, role: s.role as PlatformRole, sessionId: s.sessionId };
  }

  const logout = (p: AdminPrincipal) => deps.sessions.logout(p, p.sessionId);

  async function me(p: AdminPrincipal): Promise<AdminView> {
    const admin = await repo.byId(p.adminId);
    if (!admin) throw new AppError('NOT_FOUND', 'Admin not found');
    return view(admin);
  }

  async function mfaSetup(p: AdminPrincipal) {
    const admin = await me(p);
    if (admin.mfaEnabled) throw new AppError('CONFLICT', 'MFA is already enabled');
    const secret = newTotpSecret();
    await repo.update(p.adminId, { mfa_pending_secret: await encryptSecret(p.adminId, 'pending', secret) });
    await audit.record(p, { action: 'platform_admin.mfa_setup', entity: { type: 'platform_admin', id: p.adminId } });
    return { secret: secret.reveal(), otpauthUrl: otpauthUrl(admin.email, secret) };
  }

  async function mfaEnable(p: AdminPrincipal, code: string) {
    const admin = await repo.byId(p.adminId);
    if (!admin?.mfa_pending_secret) throw new AppError('CONFLICT', 'Start with POST /api/admin/auth/mfa/setup');
    const secret = await decryptSecret(admin.id, 'pending', admin.mfa_pending_secret);
    const step = await acceptTotp(secret, code.trim(), null, clock());
    if (step === null) throw new AppError('MFA_REQUIRED', 'The verification code is not valid');
    await repo.update(admin.id, { mfa_secret: await encryptSecret(admin.id, 'active', secret), mfa_pending_secret: null, mfa_last_step: step });
    await audit.record(p, { action: 'platform_admin.mfa_enable', entity: { type: 'platform_admin', id: admin.id } });
    return { mfaEnabled: true as const };
  }

  /** Moves admin TOTP secrets stored in clear before the vault under it (idempotent, at start). */
  async function encryptLegacySecrets(): Promise<number> {
    const admins = await repo.withPlainTotp();
    for (const a of admins) {
      const seal = async (kind: keyof typeof ADMIN_TOTP_PURPOSE, value: string | null) =>
        value === null || isCiphertext(value) ? value : encryptSecret(a.id, kind, new Secret(value));
      await repo.update(a.id, { mfa_secret: await seal('active', a.mfa_secret), mfa_pending_secret: await seal('pending', a.mfa_pending_secret) });
    }
    return admins.length;
  }

  return { encryptLegacySecrets, create, login, completeMfaLogin, refresh, authenticate, logout, me, mfaSetup, mfaEnable };
}
export type AdminAuthService = ReturnType<typeof createAdminAuthService>;
