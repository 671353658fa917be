import { type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import { type SessionKind, sessionEnded } from '../sessions/sessions.service.js';
import { assertTenantOpen } from '../tenants/tenants.service.js';
import type { IdentityRepo } from './identity.repo.js';
import type { TokenSigner } from './tokens.js';

const SESSION_MAX_MS = 30 * 86_400_000;

/**
 * Tenant users' sessions: a session stands while its user is active and its tenant is neither
 * deleted nor locked out (suspended, cancelled → 403 TENANT_SUSPENDED). A user holding a
 * temporary password (`must_change_password`) stands, held to changing it (the auth edge).
 */
export function tenantSessionKind(repo: Pick<IdentityRepo, 'principalState'>, signer: TokenSigner): SessionKind {
  return {
    auditPrefix: 'auth',
    actorType: 'user',
    sessionEntity: 'session',
    signer,
    sessionMaxMs: SESSION_MAX_MS,
    async standing(tx, userId, sessionId, now) {
      if (scopeTenantId(tx) === null) throw new Error('tenant sessions are read in their tenant scope');
      const state = await repo.principalState(tx as TenantTx, userId, sessionId);
      if (!state?.session_id || state.revoked_at || !state.session_expires_at || state.session_expires_at <= now || !state.is_active || state.tenant_deleted_at) {
        throw sessionEnded();
      }
      assertTenantOpen(state.tenant_status);
      return { role: state.role, passwordChangeRequired: state.must_change_password };
    },
  };
}
