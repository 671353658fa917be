import type { ProviderId } from '@keyhold/contract';
import { type ConnectionCredentials, IntegrationNotConfigured, type Keyhold } from './index.js';

export type TenantClientOptions = {
  /** Which of the tenant's connections (default `default`). */
  label?: string;
  /**
   * How long a client is reused before Keyhold is asked again whether the credential rotated
   * (default 30 s; 0 asks every time). A rotation always yields a new client on the next ask.
   */
  maxAgeMs?: number;
};

type Entry<C> = { connectionId: string; version: number; baseUrl: string | null; client: C; checkedAt: number };

/**
 * Official provider clients configured for one tenant, cached per tenant + connection +
 * credential version (and client options): never shared between tenants, rebuilt when the
 * credential rotates or the server's base URL for the provider changes. `build` points the client
 * at `creds.baseUrl`; `O` are the official client's own options (retries…, or a base URL of the
 * caller's, which wins).
 */
export function tenantClients<P extends ProviderId, C, O>(provider: P, build: (creds: ConnectionCredentials<P>, clientOptions: O | undefined) => C) {
  const caches = new WeakMap<Keyhold, Map<string, Entry<C>>>();

  async function get(keyhold: Keyhold, tenant: string, opts: TenantClientOptions & { client?: O } = {}): Promise<C | null> {
    const label = opts.label ?? 'default';
    let cache = caches.get(keyhold);
    if (!cache) caches.set(keyhold, (cache = new Map()));
    const key = `${tenant}\u0000${label}\u0000${JSON.stringify(opts.client ?? null)}`;
    const hit = cache.get(key);
    if (hit && Date.now() - hit.checkedAt < (opts.maxAgeMs ?? 30_000)) return hit.client;
    let creds: ConnectionCredentials<P>;
    try {
      creds = await keyhold.credentials(provider, { tenant, label });
    } catch (err) {
      if (err instanceof IntegrationNotConfigured) {
        cache.delete(key);
        return null;
      }
      throw err;
    }
    const baseUrl = creds.baseUrl ?? null;
    if (hit && hit.connectionId === creds.id && hit.version === creds.credentialVersion && hit.baseUrl === baseUrl) {
      hit.checkedAt = Date.now();
      return hit.client;
    }
    const client = build(creds, opts.client);
    cache.set(key, { connectionId: creds.id, version: creds.credentialVersion, baseUrl, client, checkedAt: Date.now() });
    return client;
  }

  async function require(keyhold: Keyhold, tenant: string, opts: TenantClientOptions & { client?: O } = {}): Promise<C> {
    const client = await get(keyhold, tenant, opts);
    if (client) return client;
    throw new IntegrationNotConfigured('NOT_FOUND', 404, `The organization '${tenant}' has not connected ${provider}`, undefined, [
      { label: `Connect ${provider}`, url: `/admin/integrations?connect=${provider}` },
    ]);
  }

  return { get, require };
}
