import { Readable } from 'node:stream';
import { systemActor } from '../../platform/context.js';
import { boundedMap } from '../../platform/bounded-map.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ConnectionsService, InUse } from '../connections/connections.service.js';
import type { TenantPrincipal } from '../identity/principal.js';
import type { ProxyService } from './proxy.service.js';

/**
 * The SDK's per-tenant helpers, in-process, for Keyhold's own jobs (syncs, webhooks): act as a
 * tenant at a provider without an HTTP hop. Work is done as the system actor, inside the tenant.
 */
export function createTenantClients(deps: { proxy: Pick<ProxyService, 'send'>; connections: Pick<ConnectionsService, 'forUse'>; catalog: Pick<Catalog, 'get'> }) {
  const as = (tenantId: string): TenantPrincipal => ({ tenantId, role: 'admin', actor: systemActor });
  const clients = boundedMap<string, { id: string; version: number; client: unknown }>(10_000);

  return {
    /** The provider's answer to one call, as a web `Response` (credentials injected, limits respected). */
    async fetch(tenantId: string, provider: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; label?: string; maxWaitMs?: number; onRateWait?: (ms: number) => void } = {}): Promise<Response> {
      const res = await deps.proxy.send(as(tenantId), provider, {
        method: init.method ?? 'GET',
        path,
        headers: init.headers ?? {},
        ...(init.body !== undefined ? { body: Buffer.from(init.body) } : {}),
      }, { ...(init.label ? { label: init.label } : {}), maxWaitMs: init.maxWaitMs ?? 0, ...(init.onRateWait ? { onRateWait: init.onRateWait } : {}) });
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) for (const value of [v].flat()) headers.append(k, value);
      const body = res.status === 204 || res.status === 304 ? null : (Readable.toWeb(res.body) as ReadableStream);
      return new Response(body, { status: res.status, headers });
    },
    /** The fresh credentials of one connection (OAuth tokens refreshed first). */
    credentials: (tenantId: string, provider: string, label = 'default'): Promise<InUse> =>
      deps.connections.forUse(as(tenantId), deps.catalog.get(provider), label, 'jobs.use'),
    /** An official client for the tenant, cached per tenant + connection + credential version. */
    async client<C>(tenantId: string, provider: string, build: (c: InUse) => C, label = 'default'): Promise<C> {
      const c = await deps.connections.forUse(as(tenantId), deps.catalog.get(provider), label, 'jobs.use');
      const key = `${tenantId}\u0000${provider}\u0000${label}`;
      const hit = clients.get(key);
      if (hit && hit.id === c.row.id && hit.version === c.row.credential_version) return hit.client as C;
      const client = build(c);
      clients.set(key, { id: c.row.id, version: c.row.credential_version, client });
      return client;
    },
  };
}
export type TenantClients = ReturnType<typeof createTenantClients>;
