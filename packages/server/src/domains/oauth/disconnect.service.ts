import type { Clock } from '../../platform/clock.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import type { ConnectionStore, Revocation } from '../connections/store.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import { adapterFor } from '../../providers/registry.js';
import { type OAuthClient, TokenRequestError } from './oauth-client.js';

export type DisconnectDeps = {
  store: Pick<ConnectionStore, 'byId' | 'secretsOf' | 'disconnect'>;
  tenancy: Tenancy;
  catalog: Pick<Catalog, 'get'>;
  client: Pick<OAuthClient, 'revoke' | 'refresh'>;
  /** Handed to an adapter that removes one account of a grant (`oauth.release`). */
  http: ProviderHttp;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  log?: Pick<Logger, 'warn'>;
};

export function createDisconnectService(deps: DisconnectDeps) {
  const { store, tenancy, catalog } = deps;

  /**
   * Revokes the grant at the provider where it has a revocation endpoint (the refresh token
   * revokes the whole grant; else the access token), or, where the adapter releases accounts one
   * by one (a grant reaching several accounts), removes only this connection's account. Never
   * throws: a provider that is down must not keep a tenant from disconnecting; the outcome is
   * reported and audited.
   */
  async function revokeAtProvider(provider: Provider, config: Record<string, string>, secrets: Record<string, string>): Promise<Revocation> {
    const token = secrets.refreshToken ?? secrets.accessToken;
    if (!provider.oauth?.revokeUrl || !token) return 'not_supported';
    const release = adapterFor(provider).oauth?.release;
    try {
      // The stored access token may have expired; the grant's tokens are discarded afterwards anyway.
      // A grant the provider no longer knows (invalid_grant) has nothing left to release.
      const fresh = release && secrets.refreshToken
        ? await deps.client.refresh(provider, config, secrets.refreshToken).catch((err: unknown) => {
            if (err instanceof TokenRequestError && err.kind === 'invalid_grant') return null;
            throw err;
          })
        : null;
      if (release && fresh && secrets.refreshToken) {
        const grantToken = fresh.refreshToken ?? secrets.refreshToken;
        await release({ provider, config, accessToken: fresh.accessToken, http: deps.http, revokeGrant: async () => void (await deps.client.revoke(provider, config, grantToken)) });
        return 'revoked';
      }
      return (await deps.client.revoke(provider, config, token)) ? 'revoked' : 'not_supported';
    } catch (err) {
      deps.log?.warn({ provider: provider.id, err: { message: (err as Error).message } }, 'token revocation failed');
      return 'failed';
    }
  }

  /** Owner + step-up MFA (the route): revoke, then keep the row (same id on reconnect) without secrets. */
  async function disconnect(p: TenantPrincipal, id: string) {
    assertRole(p, 'owner');
    const loaded = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.byId(tx, id);
      return row && { row, secrets: await store.secretsOf(tx, row) };
    });
    if (!loaded) throw new AppError('NOT_FOUND', 'Connection not found');
    const provider = catalog.get(loaded.row.provider);
    const revocation = await revokeAtProvider(provider, loaded.row.config, loaded.secrets);
    const row = await tenancy.withTenant(p.tenantId, async (tx) => {
      const updated = await store.disconnect(tx, { id }, { source: 'oauth', by: { type: p.actor.type, id: p.actor.id }, revocation });
      if (!updated) throw new AppError('NOT_FOUND', 'Connection not found');
      await deps.audit.record(p, { action: 'oauth.disconnected', entity: { type: 'connection', id }, metadata: { serviceName: provider.id, label: loaded.row.label, revocation } }, tx);
      return updated;
    });
    return { id: row.id, provider: row.provider, label: row.label, status: row.status, revocation };
  }

  return { disconnect, revokeAtProvider };
}
export type DisconnectService = ReturnType<typeof createDisconnectService>;
