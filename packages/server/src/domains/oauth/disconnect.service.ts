import type { Clock } from '../../platform/clock.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import { SECRETS_PURPOSE } from '../connections/connections.service.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import type { Vault } from '../vault/vault.service.js';
import type { WarmCache } from '../connections/warm-cache.js';
import type { OAuthClient } from './oauth-client.js';
import type { OAuthRepo } from './oauth.repo.js';

export type DisconnectDeps = {
  repo: OAuthRepo;
  tenancy: Tenancy;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  catalog: Pick<Catalog, 'get'>;
  client: Pick<OAuthClient, 'revoke'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  /** Drops this process's warm copy of a connection the service just changed. */
  warm?: Pick<WarmCache, 'invalidate'>;
  log?: Pick<Logger, 'warn'>;
};

export function createDisconnectService(deps: DisconnectDeps) {
  const { repo, tenancy, vault, catalog } = deps;

  /**
   * Revokes the grant at the provider where it has a revocation endpoint (the refresh token
   * revokes the whole grant; else the access token). Never throws: a provider that is down must
   * not keep a tenant from disconnecting; the outcome is reported and audited.
   */
  async function revokeAtProvider(provider: Provider, config: Record<string, string>, secrets: Record<string, string>): Promise<'revoked' | 'not_supported' | 'failed'> {
    const token = secrets.refreshToken ?? secrets.accessToken;
    if (!provider.oauth?.revokeUrl || !token) return 'not_supported';
    try {
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
      const row = await repo.byId(tx, id);
      return row && { row, secrets: JSON.parse((await vault.decrypt(tx, SECRETS_PURPOSE, row.id, row.secrets)).reveal()) as Record<string, string> };
    });
    if (!loaded) throw new AppError('NOT_FOUND', 'Connection not found');
    const provider = catalog.get(loaded.row.provider);
    const revocation = await revokeAtProvider(provider, loaded.row.config, loaded.secrets);
    const row = await tenancy.withTenant(p.tenantId, async (tx) => {
      const updated = await repo.updateConnection(tx, id, {
        secrets: await vault.encrypt(tx, SECRETS_PURPOSE, id, '{}'),
        status: 'disabled',
        is_active: false,
        token_expires_at: null,
        routing_key: null,
        credential_version: loaded.row.credential_version + 1,
        refresh_lease_owner: null,
        refresh_lease_until: null,
      });
      await repo.insertEvent(tx, { tenant_id: p.tenantId, connection_id: id, type: 'disconnected', detail: JSON.stringify({ revocation }) });
      await deps.audit.record(p, { action: 'oauth.disconnected', entity: { type: 'connection', id }, metadata: { serviceName: provider.id, label: loaded.row.label, revocation } }, tx);
      deps.warm?.invalidate(p.tenantId, provider.id, loaded.row.label);
      return updated;
    });
    return { id: row.id, provider: row.provider, label: row.label, status: row.status, revocation };
  }

  return { disconnect, revokeAtProvider };
}
export type DisconnectService = ReturnType<typeof createDisconnectService>;
