import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { PrincipalCtx } from '../../platform/context.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { IdentityRepo } from './identity.repo.js';
import { newOpaqueToken, sha256 } from './tokens.js';

const PREFIX = 'khs_';
const DAY_MS = 86_400_000;

export const IssueSignupInvitationInput = z.object({
  email: z.string().trim().toLowerCase().email().max(254).optional(),
  expiresInDays: z.number().int().min(1).max(30).default(7),
});

export type SignupInvitation = { id: string; token: string; email: string | null; expiresAt: string };

export type SignupInvitationsDeps = {
  repo: Pick<IdentityRepo, 'insertSignupInvitation' | 'useSignupInvitation'>;
  tenancy: Pick<Tenancy, 'withPlatform'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
};

/**
 * Invitations to create an organization, issued by the platform (admin API or CLI) when sign-up
 * is by invitation. The token is shown once and works once, before it expires, and only for its
 * email when it names one.
 */
export function createSignupInvitations(deps: SignupInvitationsDeps) {
  async function issue(ctx: PrincipalCtx, input: z.input<typeof IssueSignupInvitationInput>): Promise<SignupInvitation> {
    const data = IssueSignupInvitationInput.parse(input);
    const token = newOpaqueToken(PREFIX);
    const expiresAt = new Date(deps.clock().getTime() + data.expiresInDays * DAY_MS);
    const platformCtx = { ...ctx, tenantId: null };
    const row = await deps.tenancy.withPlatform(async (tx) => {
      const inserted = await deps.repo.insertSignupInvitation(tx, {
        token_hash: token.hash,
        email: data.email ?? null,
        created_by: ctx.actor.type === 'platform_admin' ? ctx.actor.id : null,
        expires_at: expiresAt,
      });
      await deps.audit.record(platformCtx, { action: 'signup_invitation.create', entity: { type: 'signup_invitation', id: inserted.id }, metadata: { email: data.email ?? null, expiresAt: expiresAt.toISOString() } }, tx);
      return inserted;
    });
    return { id: row.id, token: token.token, email: row.email, expiresAt: expiresAt.toISOString() };
  }

  /**
   * Spends an invitation in the sign-up's transaction: if the sign-up fails, the invitation stays
   * usable; of two sign-ups racing with one invitation, one wins (the row lock decides).
   */
  async function use(tx: TenantTx, token: string, email: string, tenantId: string): Promise<void> {
    const used = token.startsWith(PREFIX) && token.length <= 200 && (await deps.repo.useSignupInvitation(tx, { hash: sha256(token), email, tenantId, now: deps.clock() }));
    if (!used) throw new AppError('TOKEN_INVALID', 'This invitation is not valid, was already used, or has expired');
  }

  return { issue, use };
}
export type SignupInvitations = ReturnType<typeof createSignupInvitations>;
