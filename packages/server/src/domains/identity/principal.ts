import type { PrincipalCtx } from '../../platform/context.js';
import type { UserRole } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';

export const ROLE_RANK: Record<UserRole, number> = { viewer: 1, member: 2, admin: 3, owner: 4 };

/**
 * What an API key may do, on top of its role. Managing people and keys has scopes of its own,
 * never implied by the role. `docs/security-model.md` lists which operation needs which.
 */
export const API_KEY_SCOPES = [
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write',
  'records:read',
  // Opens hosted Connect sessions for the SaaS's end users (domains/connect-sessions).
  'connect',
  // Platform keys only: machine reads include OAuth refresh tokens (business code refreshing on its
  // own races Keyhold's fenced refresh, so it must be asked for and is audited).
  'credentials:read:refresh',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
/** What a tenant key may hold: every scope but the platform-only ones. */
export const TENANT_KEY_SCOPES = API_KEY_SCOPES.filter((s) => s !== 'credentials:read:refresh');

/** An authenticated caller acting inside one tenant. Built by `authenticate`, never from input. */
export type TenantPrincipal = PrincipalCtx & {
  tenantId: string;
  role: UserRole;
  /** Set for a signed-in user. */
  userId?: string;
  sessionId?: string;
  /** Set for an API key: what it may do. A user session is not limited by scopes. */
  scopes?: readonly ApiKeyScope[];
  /**
   * Set for a user signed in by the identity provider's token (no Keyhold session): who they are
   * there, and whether the token shows a recent MFA that KEYHOLD_IDP_AMR_SATISFIES_MFA accepts.
   */
  idp?: { issuer: string; subject: string; mfa: boolean };
  /**
   * Set for a user signed in with a temporary password (an operator's reset, an invitation with
   * one): only operations marked `beforePasswordChange` are open until they choose their own.
   */
  passwordChangeRequired?: true;
};

export function assertRole(p: TenantPrincipal, min: UserRole) {
  if (ROLE_RANK[p.role] < ROLE_RANK[min]) {
    throw new AppError('FORBIDDEN', `This action requires the ${min} role${min === 'owner' ? '' : ' or higher'}`);
  }
}

export function assertScope(p: TenantPrincipal, scope: ApiKeyScope) {
  if (p.scopes && !p.scopes.includes(scope)) {
    throw new AppError('FORBIDDEN', `This API key lacks the '${scope}' scope`);
  }
}
