import type { Clock } from '../../platform/clock.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import { type Vault, isCiphertext } from '../vault/vault.service.js';
import { type AttemptLimiter, attemptKeys } from './attempts.js';
import type { IdentityRepo, UserRow } from './identity.repo.js';
import type { TenantPrincipal } from './principal.js';
import { RECOVERY_CODE, acceptTotp, hashRecoveryCode, newRecoveryCodes, newTotpSecret, otpauthUrl } from './totp.js';

export type MfaDeps = {
  repo: IdentityRepo;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  tenancy: Tenancy;
  audit: Pick<AuditService, 'record'>;
  attempts: AttemptLimiter;
  clock: Clock;
};

export type MfaMethod = 'totp' | 'recovery_code';

/** Vault purposes of a user's TOTP secret while enrolling and once active (they bind the AAD). */
export const TOTP_PURPOSE = { pending: 'user.mfa_pending_secret', active: 'user.mfa_secret' } as const;

const needsUser = () => new AppError('FORBIDDEN', 'Only a signed-in user can manage MFA');
const badCode = () => new AppError('MFA_REQUIRED', 'The verification code is not valid');

export function createMfaService(deps: MfaDeps) {
  const { repo, tenancy, audit, clock } = deps;

  /**
   * Accepts a TOTP (newer than the last accepted step) or an unused recovery code for `user`,
   * whose row the caller has locked. Records what it consumed; returns how, or null.
   */
  async function acceptCode(tx: TenantTx, user: UserRow, code: string): Promise<MfaMethod | null> {
    if (!user.mfa_secret) return null;
    const trimmed = code.trim().toLowerCase();
    if (RECOVERY_CODE.test(trimmed)) {
      return (await repo.useRecoveryCode(tx, user.id, hashRecoveryCode(trimmed), clock())) ? 'recovery_code' : null;
    }
    const lastStep = user.mfa_last_step === null ? null : Number(user.mfa_last_step);
    const secret = await deps.vault.decrypt(tx, TOTP_PURPOSE.active, user.id, user.mfa_secret);
    const step = await acceptTotp(secret, trimmed, lastStep, clock());
    if (step === null) return null;
    await repo.updateUser(tx, user.id, { mfa_last_step: step });
    return 'totp';
  }

  /** Starts enrolment: a new secret, shown once, that `enable` confirms. */
  async function setup(p: TenantPrincipal) {
    if (!p.userId) throw needsUser();
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const user = await repo.userById(tx, p.userId!, { lock: true });
      if (!user) throw new AppError('NOT_FOUND', 'User not found');
      if (user.mfa_secret) throw new AppError('CONFLICT', 'MFA is already enabled; disable it first to enrol a new device');
      const secret = newTotpSecret();
      await repo.updateUser(tx, user.id, { mfa_pending_secret: await deps.vault.encrypt(tx, TOTP_PURPOSE.pending, user.id, secret) });
      await audit.record(p, { action: 'mfa.setup', entity: { type: 'user', id: user.id } }, tx);
      return { secret: secret.reveal(), otpauthUrl: otpauthUrl(user.email, secret) };
    });
  }

  /** Confirms enrolment with a code from the new device; returns ten single-use recovery codes. */
  async function enable(p: TenantPrincipal, code: string) {
    if (!p.userId) throw needsUser();
    const attempt = await deps.attempts.reserve([attemptKeys.mfa(p.userId)]);
    const result = await tenancy.withTenant(p.tenantId, async (tx) => {
      const user = await repo.userById(tx, p.userId!, { lock: true });
      if (!user?.mfa_pending_secret) throw new AppError('CONFLICT', 'Start with POST /api/auth/mfa/setup');
      const secret = await deps.vault.decrypt(tx, TOTP_PURPOSE.pending, user.id, user.mfa_pending_secret);
      const step = await acceptTotp(secret, code.trim(), null, clock());
      if (step === null) return null;
      const recovery = newRecoveryCodes();
      const active = await deps.vault.encrypt(tx, TOTP_PURPOSE.active, user.id, secret);
      await repo.updateUser(tx, user.id, { mfa_secret: active, mfa_pending_secret: null, mfa_last_step: step });
      await repo.replaceRecoveryCodes(tx, p.tenantId, user.id, recovery.hashes);
      await audit.record(p, { action: 'mfa.enable', entity: { type: 'user', id: user.id } }, tx);
      return { recoveryCodes: recovery.codes };
    }).catch(attempt.releaseAndThrow);
    if (!result) throw badCode();
    await attempt.release();
    return result;
  }

  async function disable(p: TenantPrincipal, code: string) {
    if (!p.userId) throw needsUser();
    await verifyStepUp(p, code, async (tx, user) => {
      await repo.updateUser(tx, user.id, { mfa_secret: null, mfa_pending_secret: null, mfa_last_step: null });
      await repo.deleteRecoveryCodes(tx, user.id);
      await audit.record(p, { action: 'mfa.disable', entity: { type: 'user', id: user.id } }, tx);
    });
  }

  /**
   * Step-up for sensitive actions: the caller must be enrolled and present a fresh code.
   * `then` runs in the same transaction once the code is accepted.
   */
  async function verifyStepUp(p: TenantPrincipal, code: string | undefined, then?: (tx: TenantTx, user: UserRow) => Promise<void>) {
    // The IdP's recent MFA stands in for a code on sensitive operations, never for managing
    // Keyhold's own TOTP (`then`: disabling it needs a code from it).
    if (p.idp?.mfa && !then) return;
    if (!p.userId) throw new AppError('MFA_ENROLLMENT_REQUIRED', 'This action needs a signed-in user with MFA enabled');
    // Counted before the check; only a wrong code leaves it counted (a missing code or enrolment
    // throws before any code is checked, and releases it).
    const attempt = await deps.attempts.reserve([attemptKeys.mfa(p.userId)]);
    const ok = await tenancy.withTenant(p.tenantId, async (tx) => {
      const user = await repo.userById(tx, p.userId!, { lock: true });
      if (!user?.mfa_secret) {
        throw new AppError('MFA_ENROLLMENT_REQUIRED', 'Enable two-factor authentication to perform this action', {
          actions: [{ label: 'Set up MFA', url: '/admin/settings/security' }],
        });
      }
      if (!code) throw new AppError('MFA_REQUIRED', 'This action needs a current verification code in the X-MFA-Code header');
      const method = await acceptCode(tx, user, code);
      if (!method) return false;
      await then?.(tx, user);
      return true;
    }).catch(attempt.releaseAndThrow);
    if (!ok) throw badCode();
    await attempt.release();
  }

  /**
   * Moves TOTP secrets stored in clear (before the vault existed) under the vault. Idempotent;
   * runs at start, tenant by tenant.
   */
  async function encryptLegacySecrets(): Promise<number> {
    let moved = 0;
    for (const tenantId of await repo.tenantsWithPlainTotp()) {
      moved += await tenancy.withTenant(tenantId, async (tx) => {
        const users = await repo.usersWithPlainTotp(tx);
        for (const u of users) {
          const seal = async (kind: keyof typeof TOTP_PURPOSE, value: string | null) =>
            value === null || isCiphertext(value) ? value : deps.vault.encrypt(tx, TOTP_PURPOSE[kind], u.id, value);
          await repo.updateUser(tx, u.id, { mfa_secret: await seal('active', u.mfa_secret), mfa_pending_secret: await seal('pending', u.mfa_pending_secret) });
        }
        return users.length;
      });
    }
    return moved;
  }

  return { acceptCode, setup, enable, disable, verifyStepUp, encryptLegacySecrets };
}
export type MfaService = ReturnType<typeof createMfaService>;
