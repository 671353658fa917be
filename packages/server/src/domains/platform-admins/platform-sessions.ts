import { type SessionKind, sessionEnded } from '../sessions/sessions.service.js';
import type { TokenSigner } from '../identity/tokens.js';
import type { PlatformAdminsRepo } from './platform-admins.repo.js';

const SESSION_MAX_MS = 7 * 86_400_000;

/** Platform admins' sessions: a session stands while its admin is active. */
export function platformSessionKind(repo: Pick<PlatformAdminsRepo, 'sessionState'>, signer: TokenSigner): SessionKind {
  return {
    auditPrefix: 'platform_admin',
    actorType: 'platform_admin',
    sessionEntity: 'platform_session',
    signer,
    sessionMaxMs: SESSION_MAX_MS,
    async standing(tx, adminId, sessionId, now) {
      const state = await repo.sessionState(tx, adminId, sessionId);
      if (!state?.is_active || state.revoked_at || state.expires_at <= now) throw sessionEnded();
      return { role: state.role };
    },
  };
}
