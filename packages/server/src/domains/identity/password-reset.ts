import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { PrincipalCtx, RequestMeta } from '../../platform/context.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Sessions } from '../sessions/sessions.service.js';
import type { TenantsService } from '../tenants/tenants.service.js';
import { type AttemptKey, type AttemptLimiter, attemptKeys } from './attempts.js';
import type { IdentityRepo, UserRow } from './identity.repo.js';
import type { IdpRepo } from './idp.repo.js';
import type { PasswordResetRepo } from './password-reset.repo.js';
import { assertPasswordPolicy, hashPassword } from './passwords.js';
import { newOpaqueToken, sha256 } from './tokens.js';

export const RESET_TTL_MS = 30 * 60_000;

/** Why an operator's reset was refused. */
export type OperatorResetRefusal = 'no_user' | 'invitation_pending' | 'identity_provider';
const PREFIX = 'khp_';

export const ForgotInput = z.object({ tenant: z.string().trim().toLowerCase().min(1).max(63), email: z.string().trim().toLowerCase().email().max(254) });
export const ResetInput = z.object({ token: z.string().min(1).max(200), password: z.string().max(1024) });

/** Reset requests per account (5) and per client address (the sign-in limit), per 15 minutes. */
const resetKey = (tenant: string, email: string): AttemptKey => ({ key: `reset:account:${tenant}:${email}`, limit: 5 });

export type PasswordResetDeps = {
  repo: PasswordResetRepo;
  users: Pick<IdentityRepo, 'userByEmail' | 'userById' | 'updateUser'>;
  identities: Pick<IdpRepo, 'isLinked'>;
  tenants: Pick<TenantsService, 'idBySlug'>;
  organization(tx: TenantTx): Promise<string>;
  tenancy: Tenancy;
  sessions: Pick<Sessions, 'endAll'>;
  audit: Pick<AuditService, 'record'>;
  attempts: Pick<AttemptLimiter, 'reserve'>;
  /** Writes the reset email in the token's transaction; sends it after commit. */
  mail: {
    enqueue(tx: TenantTx, m: { to: string; vars: Record<string, string>; resetUrl: string }): Promise<string | null>;
    sendSoon(tenantId: string, id: string | null): void;
  };
  /** Where the reset page is: `<publicUrl>/admin/reset-password#token=…` (a fragment never reaches a server log). */
  publicUrl: string;
  clock: Clock;
  log?: Pick<Logger, 'warn'>;
};

/**
 * Password reset by email. `forgot` answers the same, in the same time class, whether or not the
 * account exists: before answering it only validates and counts the request; finding the user,
 * minting the token and sending the email happen after the answer. The token is single use, 30
 * minutes, stored as SHA-256; using it sets the password and ends every session of the user.
 */
export function createPasswordReset(deps: PasswordResetDeps) {
  const { tenancy, clock } = deps;
  const inFlight = new Set<Promise<unknown>>();

  async function forgot(meta: RequestMeta, input: z.input<typeof ForgotInput>): Promise<void> {
    const data = ForgotInput.parse(input);
    // Counted whatever the outcome: a request is never "released" (there is no right answer to reward).
    await deps.attempts.reserve([resetKey(data.tenant, data.email), attemptKeys.ip(meta.ip)]);
    const work = issue(meta, data).catch((err: unknown) => deps.log?.warn({ err: { message: (err as Error).message } }, 'a password reset could not be issued'));
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  async function issue(meta: RequestMeta, data: z.output<typeof ForgotInput>) {
    const tenantId = await deps.tenants.idBySlug(data.tenant);
    if (!tenantId) return;
    await issueLink(tenantId, data.email, (userId) => ({ ...meta, tenantId, actor: { type: 'user', id: userId } }));
  }

  /** Mints a link for an active user with a password and writes its email; false when there is no such user. */
  async function issueLink(tenantId: string, email: string, auditCtx: (userId: string) => PrincipalCtx): Promise<boolean> {
    const token = newOpaqueToken(PREFIX);
    const id = await tenancy.withTenant(tenantId, async (tx) => {
      const found = await deps.users.userByEmail(tx, email);
      // Locked: requests for one user take turns, so each spends the link the one before it wrote
      // (without the lock two could each spend nothing and both links would stay valid).
      const user = found && (await deps.users.userById(tx, found.id, { lock: true }));
      // A pending invitation has no password to reset; a deactivated user may not get back in.
      if (!user || !user.is_active || !user.password_hash) return undefined;
      const now = clock();
      // A new link replaces any earlier one.
      await deps.repo.useAll(tx, tenantId, user.id, now);
      await deps.repo.insert(tx, { tenant_id: tenantId, user_id: user.id, token_hash: token.hash, created_at: now, expires_at: new Date(now.getTime() + RESET_TTL_MS) });
      await deps.audit.record(auditCtx(user.id), { action: 'user.password_reset_requested', entity: { type: 'user', id: user.id } }, tx);
      return deps.mail.enqueue(tx, {
        to: user.email,
        vars: { email: user.email, organization: await deps.organization(tx) },
        resetUrl: `${deps.publicUrl}/admin/reset-password#token=${token.token}`,
      });
    });
    if (id !== undefined) deps.mail.sendSoon(tenantId, id);
    return id !== undefined;
  }

  /**
   * Why the operator may not reset this user's password; null when they may. A pending invitation
   * has no password to reset (as for the emailed link), a deactivated user may not get back in,
   * and a user the identity provider signs in resets their password there.
   */
  async function operatorRefusal(tx: TenantTx, user: UserRow | undefined): Promise<OperatorResetRefusal | null> {
    if (!user || !user.is_active) return 'no_user';
    if (await deps.identities.isLinked(tx, user.id)) return 'identity_provider';
    if (!user.password_hash) return 'invitation_pending';
    return null;
  }

  /**
   * The platform operator's reset (`keyhold users reset-password`): the same emailed link, audited
   * as the operator, answered plainly (the operator may know whether the user exists).
   */
  async function sendLinkAsOperator(ctx: Omit<PrincipalCtx, 'tenantId'>, tenantId: string, email: string): Promise<OperatorResetRefusal | null> {
    const address = email.trim().toLowerCase();
    const refused = await tenancy.withTenant(tenantId, async (tx) => operatorRefusal(tx, await deps.users.userByEmail(tx, address)));
    if (refused) return refused;
    return (await issueLink(tenantId, address, () => ({ ...ctx, tenantId }))) ? null : 'no_user';
  }

  /**
   * The operator's reset without email: a random temporary password the user must change
   * (`must_change_password`), shown to the operator once; pending links are spent and every
   * session of the user ends. A refusal (see `operatorRefusal`) changes nothing.
   */
  async function setTemporaryPassword(ctx: Omit<PrincipalCtx, 'tenantId'>, tenantId: string, email: string): Promise<{ password: string } | { refused: OperatorResetRefusal }> {
    const password = randomBytes(15).toString('base64url');
    const passwordHash = await hashPassword(password);
    return tenancy.withTenant(tenantId, async (tx) => {
      const found = await deps.users.userByEmail(tx, email.trim().toLowerCase());
      const user = found && (await deps.users.userById(tx, found.id, { lock: true }));
      const refused = await operatorRefusal(tx, user);
      if (refused || !user) return { refused: refused ?? 'no_user' };
      await deps.repo.useAll(tx, tenantId, user.id, clock());
      await deps.users.updateUser(tx, user.id, { password_hash: passwordHash, must_change_password: true });
      await deps.sessions.endAll(tx, user.id, 'password_changed');
      await deps.audit.record({ ...ctx, tenantId }, { action: 'user.password_reset', entity: { type: 'user', id: user.id }, metadata: { method: 'temporary_password' } }, tx);
      return { password };
    });
  }

  async function reset(meta: RequestMeta, input: z.input<typeof ResetInput>): Promise<void> {
    const data = ResetInput.parse(input);
    const invalid = () => new AppError('TOKEN_INVALID', 'This password reset link is not valid, was already used, or has expired');
    if (!data.token.startsWith(PREFIX)) throw invalid();
    assertPasswordPolicy(data.password);
    const hash = sha256(data.token);
    const tenantId = await deps.repo.tenantOf(hash);
    if (!tenantId) throw invalid();
    const passwordHash = await hashPassword(data.password);
    await tenancy.withTenant(tenantId, async (tx) => {
      const row = await deps.repo.byHash(tx, tenantId, hash);
      if (!row || row.used_at || row.expires_at <= clock()) throw invalid();
      const user = await deps.users.userById(tx, row.user_id, { lock: true });
      if (!user?.is_active) throw invalid();
      await deps.repo.useAll(tx, tenantId, user.id, clock());
      await deps.users.updateUser(tx, user.id, { password_hash: passwordHash, must_change_password: false });
      await deps.sessions.endAll(tx, user.id, 'password_changed');
      await deps.audit.record({ ...meta, tenantId, actor: { type: 'user', id: user.id } }, { action: 'user.password_reset', entity: { type: 'user', id: user.id } }, tx);
    });
  }

  return {
    forgot,
    reset,
    sendLinkAsOperator,
    setTemporaryPassword,
    /** Resolves when reset requests answered so far have been issued (tests, shutdown). */
    idle: async () => {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
export type PasswordReset = ReturnType<typeof createPasswordReset>;
