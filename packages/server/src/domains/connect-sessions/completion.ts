import type { Actor } from '../../platform/context.js';
import type { Clock } from '../../platform/clock.js';
import { type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { ConnectSessionsRepo } from './connect-sessions.repo.js';

/**
 * How a connection write (credentials API, OAuth callback) completes a Connect session, in the
 * write's own transaction: `begin` locks the session row and refuses a used or expired one, so of
 * two concurrent completions exactly one writes; `finish` marks it used with the connection it
 * produced. A write that fails rolls both back: the session stays open for another try.
 */
export type ConnectSessionCompletion = {
  begin(tx: TenantTx, sessionId: string): Promise<{ actor: Actor }>;
  finish(tx: TenantTx, sessionId: string, connectionId: string): Promise<void>;
};

export const sessionUsed = () => new AppError('CONNECT_SESSION_USED', 'This connect link was already used; ask the application for a new one');
export const sessionExpired = () => new AppError('CONNECT_SESSION_EXPIRED', 'This connect link has expired; ask the application for a new one');

/** The completion every connection writer is handed (deps.ts), over the session repo alone. */
export function createConnectSessionCompletion(repo: Pick<ConnectSessionsRepo, 'lockById' | 'markUsed'>, clock: Clock): ConnectSessionCompletion {
  return {
    async begin(tx, sessionId) {
      const tenantId = scopeTenantId(tx)!;
      const row = await repo.lockById(tx, tenantId, sessionId);
      if (!row) throw new AppError('CONNECT_SESSION_INVALID', 'This connect link is not valid');
      if (row.used_at) throw sessionUsed();
      if (row.expires_at.getTime() <= clock().getTime()) throw sessionExpired();
      return { actor: { type: 'api_key', id: row.created_by } };
    },
    async finish(tx, sessionId, connectionId) {
      if (!(await repo.markUsed(tx, scopeTenantId(tx)!, sessionId, connectionId, clock()))) throw sessionUsed();
    },
  };
}
