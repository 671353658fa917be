import type { Reply } from '../providers.js';
import { accountIds, xeroConnectionId } from '../oauth/ids.js';
import type { AccessToken, Grant } from '../oauth/state.js';

/**
 * The organisations ("connections") a Xero grant reaches, and removing one of them.
 *
 * GET /connections lists the grant's tenants; DELETE /connections/{id} removes one organisation
 * from the app (204; 404 "Resource not found" for an id the caller's token does not list), after
 * which that tenant id is refused for every token of the grant, while the grant's other
 * organisations keep working. Revoking the refresh token instead removes all of them.
 * https://developer.xero.com/documentation/guides/oauth2/auth-flow/#removing-connections
 * https://github.com/XeroAPI/Xero-OpenAPI/blob/master/xero-identity.yaml (deleteConnection)
 */
const removed = new WeakMap<Grant, Set<number>>();

const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '');

/** Index → tenant of every organisation the grant still reaches. */
export function xeroTenants(g: Grant): Array<{ index: number; tenantId: string; name: string; connectionId: string }> {
  const gone = removed.get(g);
  return Array.from({ length: g.count }, (_, i) => i)
    .filter((i) => !gone?.has(i))
    .map((i) => {
      const ids = accountIds('xero', g.account, i);
      return { index: i, tenantId: ids.xeroTenantId!, name: ids.name, connectionId: xeroConnectionId(g.account, i, g.clientId) };
    });
}

export function listConnections(a: AccessToken): Reply {
  const g = a.grant;
  return {
    status: 200,
    body: xeroTenants(g).map((t) => ({
      id: t.connectionId, authEventId: g.authEventId, tenantId: t.tenantId, tenantType: 'ORGANISATION', tenantName: t.name,
      createdDateUtc: iso(g.createdAt), updatedDateUtc: iso(g.createdAt),
    })),
  };
}

export function deleteConnection(a: AccessToken, connectionId: string): Reply {
  const t = xeroTenants(a.grant).find((x) => x.connectionId.toLowerCase() === connectionId.toLowerCase());
  if (!t) return { status: 404, body: { message: 'Resource not found' } };
  const set = removed.get(a.grant) ?? new Set<number>();
  set.add(t.index);
  removed.set(a.grant, set);
  return { status: 204, body: undefined };
}
