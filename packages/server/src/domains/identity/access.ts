import type { PlatformRole, UserRole } from '../../platform/db/schema.js';
import { PLATFORM_PERMISSIONS, type PlatformPermission } from '../platform-admins/permissions.js';
import { type ApiKeyScope, ROLE_RANK, TENANT_KEY_SCOPES } from './principal.js';

/**
 * Who may call an operation. The one table the auth edge (platform/http/auth-plugin.ts, handed
 * this table by app.ts) enforces for every request; routes do not repeat it. It lives here because
 * it speaks of roles and scopes, and `mayGrant` below derives from it. An operation missing here
 * cannot be registered.
 *
 * - `public`: no principal (sign-in, health, provider callbacks).
 * - `platform`: a platform admin's token with this permission (API keys never reach these).
 * - `tenant`: a tenant principal of at least `role`, and:
 *     `scope` — the scope an API key (tenant or platform) must hold; `'any'` lets every key in,
 *     `null` refuses keys (the operation is about a person: password, sessions, MFA, reveal);
 *     `keysOnly` — people are refused (they use the audited reveal instead);
 *     `stepUp` — a fresh MFA code in `X-MFA-Code` from people; with a `scope`, API keys holding it
 *     may call it too (a key has no MFA: its scope is the grant), with `scope: null` keys are refused;
 *     `beforePasswordChange` — open to a user who still holds a temporary password (every other
 *     operation answers 403 PASSWORD_CHANGE_REQUIRED until they choose their own).
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'platform'; permission: PlatformPermission | 'signed-in' }
  | { kind: 'tenant'; role: UserRole; scope: ApiKeyScope | 'any' | null } & TenantMore;

/**
 * `self`: about the caller's own person (password, sessions, MFA), no power over the tenant.
 * `grantScope`: a people-only operation's worth in scopes — a key gives a person this power only
 * if it holds that scope (OAuth consent creates connections, as `credentials:write` does).
 */
type TenantMore = { keysOnly?: true; stepUp?: true; self?: true; grantScope?: ApiKeyScope; beforePasswordChange?: true; note?: string };

const pub: Access = { kind: 'public' };
const platform = (permission: PlatformPermission | 'signed-in'): Access => ({ kind: 'platform', permission });
const tenant = (role: UserRole, scope: ApiKeyScope | 'any' | null, more: TenantMore = {}): Access => ({ kind: 'tenant', role, scope, ...more });
const self = (): Access => tenant('viewer', null, { self: true });
const PROXY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** Operations by `METHOD /path` as the OpenAPI document names them (`{id}` for path parameters). */
export const OPERATION_ACCESS: Readonly<Record<string, Access>> = {
  'GET /health': pub,
  'GET /ready': pub,
  'POST /api/auth/signup': pub,
  'GET /api/auth/signup': pub,
  'POST /api/auth/login': pub,
  'POST /api/auth/mfa/verify': pub,
  'POST /api/auth/refresh': pub,
  'POST /api/auth/invite/accept': pub,
  'POST /api/auth/password/forgot': pub,
  'POST /api/auth/password/reset': pub,
  'GET /api/integrations/{provider}/callback': pub,
  // Providers deliver without a Keyhold principal: the signature over the raw body is the credential.
  'POST /api/webhooks/{provider}': pub,
  'GET /api/webhooks/{provider}': pub,
  'POST /api/webhooks/{provider}/{endpointToken}': pub,

  'GET /api/auth/me': tenant('viewer', 'any', { beforePasswordChange: true }),
  'POST /api/auth/logout': tenant('viewer', null, { self: true, beforePasswordChange: true }),
  'GET /api/auth/sessions': self(),
  'DELETE /api/auth/sessions/{id}': self(),
  'POST /api/auth/password': tenant('viewer', null, { self: true, beforePasswordChange: true }),
  'POST /api/auth/mfa/setup': self(),
  'POST /api/auth/mfa/enable': self(),
  'POST /api/auth/mfa/disable': self(),
  'GET /api/auth/onboarding': self(),
  'PUT /api/auth/onboarding': self(),

  'GET /api/users': tenant('admin', 'users:read'),
  'POST /api/users': tenant('admin', 'users:write', { note: 'a key grants a role only when it could do everything that role can' }),
  'PATCH /api/users/{id}': tenant('admin', 'users:write', { note: 'a key changes or disables only people it could have created' }),
  'DELETE /api/users/{id}': tenant('admin', 'users:write', { note: 'a key removes only people it could have created' }),

  'GET /api/api-keys': tenant('admin', 'api_keys:read'),
  'POST /api/api-keys': tenant('admin', 'api_keys:write', {
    note: "a key creates keys only with a subset of its scopes and at most its role; a key with 'credentials:read' (plaintext secrets) is created by the owner with X-MFA-Code, like a reveal",
  }),
  'DELETE /api/api-keys/{id}': tenant('admin', 'api_keys:write'),

  'GET /api/audit-logs': tenant('admin', 'audit:read'),
  'GET /api/audit-logs/export.csv': tenant('admin', 'audit:read'),
  'GET /api/events': tenant('admin', 'events:read'),
  'GET /api/webhooks/inbound': tenant('admin', 'events:read'),
  'GET /api/notifications': tenant('admin', 'events:read'),
  'GET /api/notifications/settings': tenant('admin', 'events:read'),
  'PUT /api/notifications/settings': tenant('admin', 'credentials:write', { note: "chooses which of the tenant's connections send its alerts" }),
  'POST /api/webhooks/inbound/{id}/replay': tenant('admin', 'credentials:write', { note: "re-runs the event's effects on its connection" }),
  'GET /api/providers': tenant('viewer', 'any'),

  // Syncs read the tenant's provider data into its records store.
  'GET /api/records/{model}': tenant('member', 'records:read'),
  'GET /api/syncs': tenant('member', 'records:read'),
  'GET /api/syncs/runs': tenant('member', 'records:read'),
  // A schedule starts no run at once (a shorter frequency counts from the last due run), so no step-up.
  'PUT /api/syncs/{connectionId}/{sync}/schedule': tenant('admin', 'syncs:run'),
  'POST /api/syncs/run-all': tenant('admin', 'syncs:run', { stepUp: true }),
  'POST /api/syncs/{connectionId}/{sync}/run': tenant('admin', 'syncs:run', { stepUp: true }),
  'POST /api/syncs/{connectionId}/{sync}/reset': tenant('admin', 'syncs:run', { stepUp: true }),
  // The exchange-rate module (modules/exchange-rates): a manual sync writes to the tenant's books.
  'POST /api/exchange-rates/sync': tenant('admin', 'syncs:run', { stepUp: true }),
  'POST /api/exchange-rates/sync-all': tenant('admin', 'syncs:run', { stepUp: true }),
  'GET /api/exchange-rates': tenant('member', 'records:read'),
  'GET /api/exchange-rates/status': tenant('member', 'records:read'),
  'GET /api/exchange-rates/settings': tenant('member', 'records:read'),
  'PUT /api/exchange-rates/settings/{connectionId}': tenant('admin', 'syncs:run'),

  // Business views computed from the records store: read like the records themselves.
  'GET /api/working-capital/current': tenant('member', 'records:read'),
  'GET /api/working-capital/history': tenant('member', 'records:read'),
  // Commerce (modules/commerce): figures from synced records; its settings are changed by people.
  'GET /api/commerce/summary': tenant('member', 'records:read'),
  'GET /api/commerce/settings': tenant('member', 'records:read'),
  'PUT /api/commerce/settings': tenant('admin', null, { grantScope: 'syncs:run' }),

  // Outbound webhooks: creating, moving, revealing, rotating and deleting touch where signed payloads go or the secret (step-up).
  'GET /api/webhook-endpoints': tenant('admin', 'webhooks:read'),
  'POST /api/webhook-endpoints': tenant('admin', null, { stepUp: true, grantScope: 'webhooks:write' }),
  'GET /api/webhook-endpoints/{id}': tenant('admin', 'webhooks:read'),
  'PATCH /api/webhook-endpoints/{id}': tenant('admin', 'webhooks:write', { note: 'not the URL' }),
  // Where signed payloads go is worth as much as creating the endpoint.
  'PUT /api/webhook-endpoints/{id}/url': tenant('admin', null, { stepUp: true, grantScope: 'webhooks:write' }),
  'DELETE /api/webhook-endpoints/{id}': tenant('admin', null, { stepUp: true, grantScope: 'webhooks:write' }),
  'GET /api/webhook-endpoints/{id}/secret': tenant('admin', null, { stepUp: true, grantScope: 'webhooks:write' }),
  'POST /api/webhook-endpoints/{id}/rotate-secret': tenant('admin', null, { stepUp: true, grantScope: 'webhooks:write' }),
  'GET /api/webhook-endpoints/{id}/deliveries': tenant('admin', 'webhooks:read'),
  'POST /api/webhook-endpoints/{id}/deliveries/{deliveryId}/retry': tenant('admin', 'webhooks:write'),
  'POST /api/webhook-endpoints/{id}/recover': tenant('admin', 'webhooks:write'),
  'POST /api/webhook-endpoints/{id}/test': tenant('admin', 'webhooks:write'),

  'GET /api/api-credentials': tenant('admin', 'credentials:read'),
  'GET /api/api-credentials/{id}': tenant('admin', 'credentials:read'),
  'POST /api/api-credentials': tenant('admin', 'credentials:write'),
  'POST /api/api-credentials/test-connection': tenant('admin', 'credentials:write'),
  'POST /api/api-credentials/{id}/test': tenant('admin', 'credentials:write'),
  'PUT /api/api-credentials/{id}': tenant('admin', 'credentials:write', {
    note: 'changing a secret, or where or how one is sent, needs X-MFA-Code from a person (so no key)',
  }),
  'DELETE /api/api-credentials/{id}': tenant('owner', null, { stepUp: true }),
  'GET /api/api-credentials/{id}/reveal': tenant('owner', null, { stepUp: true }),
  'GET /api/connections/{provider}/credentials': tenant('viewer', 'credentials:read', { keysOnly: true }),

  // OAuth consent happens in a person's browser; the pending choice belongs to that person.
  'GET /api/integrations/{provider}/authorize': tenant('admin', null, { grantScope: 'credentials:write' }),
  'GET /api/integrations/pending/{id}': tenant('admin', null, { grantScope: 'credentials:write' }),
  'POST /api/integrations/pending/{id}/select': tenant('admin', null, { grantScope: 'credentials:write' }),
  'POST /api/integrations/{id}/disconnect': tenant('owner', null, { stepUp: true }),

  // Hosted Connect: a SaaS's back end opens a session for its end user; the page that follows
  // holds only the session token (single use, 30 min at most), which is its credential.
  'POST /api/connect/sessions': tenant('admin', 'connect', { keysOnly: true }),
  'POST /api/connect/sessions/reconnect': tenant('admin', 'connect', { keysOnly: true }),
  'GET /api/connect/session': pub,
  'POST /api/connect/session/test': pub,
  'POST /api/connect/session/credentials': pub,
  'POST /api/connect/session/oauth/{provider}': pub,
  'GET /api/connect/session/result': pub,

  ...Object.fromEntries(PROXY_METHODS.map((m) => [`${m} /api/proxy/{provider}/{*}`, tenant('member', 'proxy')])),

  'POST /api/admin/auth/login': pub,
  'POST /api/admin/auth/mfa/verify': pub,
  'POST /api/admin/auth/refresh': pub,
  'POST /api/admin/auth/logout': platform('signed-in'),
  'GET /api/admin/auth/me': platform('signed-in'),
  'POST /api/admin/auth/mfa/setup': platform('signed-in'),
  'POST /api/admin/auth/mfa/enable': platform('signed-in'),
  'GET /api/admin/tenants': platform('tenants:read'),
  'POST /api/admin/tenants': platform('tenants:create'),
  'GET /api/admin/tenants/{id}': platform('tenants:read'),
  'PATCH /api/admin/tenants/{id}': platform('tenants:update'),
  'DELETE /api/admin/tenants/{id}': platform('tenants:delete'),
  'POST /api/admin/tenants/{id}/suspend': platform('tenants:suspend'),
  'POST /api/admin/tenants/{id}/reactivate': platform('tenants:suspend'),
  'POST /api/admin/signup-invitations': platform('tenants:create'),
  'GET /api/admin/api-keys': platform('api_keys:manage'),
  'POST /api/admin/api-keys': platform('api_keys:manage'),
  'DELETE /api/admin/api-keys/{id}': platform('api_keys:manage'),
  'GET /api/admin/tenants/{id}/usage': platform('tenants:read'),
  'GET /api/admin/health': platform('platform:read'),
  'GET /api/admin/admins': platform('platform:read'),
  'GET /api/admin/webhooks/quarantine': platform('tenants:read'),
  'POST /api/admin/webhooks/quarantine/{id}/replay': platform('tenants:update'),
};

/** The table's key for a Fastify route: `HEAD` answers as `GET`, `:id` is `{id}`, `*` is `{*}`. */
export function operationKey(method: string, url: string): string {
  const m = method.toUpperCase();
  const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}');
  const key = `${m} ${path}`;
  return m === 'HEAD' && !(key in OPERATION_ACCESS) ? `GET ${path}` : key;
}

export function accessOf(method: string, url: string): Access | undefined {
  return OPERATION_ACCESS[operationKey(method, url)];
}

/** What a principal is: a person (no scopes) or an API key (role + scopes). */
export type Powers = { role: UserRole; scopes?: readonly ApiKeyScope[] | undefined };

export type TenantAccess = Extract<Access, { kind: 'tenant' }>;
export type PlatformAccess = Extract<Access, { kind: 'platform' }>;

/** Whether `who` may call an operation with tenant access `a` (role, scope and key rules; not MFA). */
export function allows(a: TenantAccess, who: Powers): boolean {
  if (ROLE_RANK[who.role] < ROLE_RANK[a.role]) return false;
  if (!who.scopes) return !a.keysOnly;
  if (a.scope === null) return false;
  return a.scope === 'any' || who.scopes.includes(a.scope);
}

/** Why `allows` said no, for the caller. */
export function refusal(a: TenantAccess, who: Powers): string {
  if (ROLE_RANK[who.role] < ROLE_RANK[a.role]) return `This action requires the ${a.role} role${a.role === 'owner' ? '' : ' or higher'}`;
  if (!who.scopes) return `Use an API key with the '${a.scope}' scope; people use reveal`;
  if (a.scope === null) return 'API keys cannot perform this operation; a signed-in person must';
  return `This API key lacks the '${a.scope}' scope`;
}

/** Why a platform admin of `role` may not call `a`; null when the role holds the permission. */
export function platformRefusal(a: PlatformAccess, role: PlatformRole): string | null {
  if (a.permission === 'signed-in' || (PLATFORM_PERMISSIONS[a.permission] as readonly PlatformRole[]).includes(role)) return null;
  return `Your platform role (${role}) does not allow '${a.permission}'`;
}

const tenantOps = () => Object.values(OPERATION_ACCESS).filter((a): a is TenantAccess => a.kind === 'tenant');

/**
 * Whether an API key may create (or act on) a principal with `granted` powers: only if everything
 * that principal could do, the key can do already. People are bound by roles alone.
 * - a key it creates holds a subset of its scopes (also scopes no operation uses yet);
 * - a person who may create API keys could mint any scope, so only a key holding every scope may
 *   give someone that role;
 * - every other operation the principal could call, the key could call too (people-only
 *   operations count as their `grantScope`; operations about one's own person do not count).
 */
export function mayGrant(granter: Powers, granted: Powers): boolean {
  const keyScopes = granter.scopes;
  if (!keyScopes) return true;
  if (granted.scopes && !granted.scopes.every((s) => keyScopes.includes(s))) return false;
  const mintsKeys = OPERATION_ACCESS['POST /api/api-keys'] as TenantAccess;
  if (!granted.scopes && allows(mintsKeys, granted) && !TENANT_KEY_SCOPES.every((s) => keyScopes.includes(s))) return false;
  return tenantOps().every((a) => {
    if (a.self || !allows(a, granted)) return true;
    if (a.scope === null && a.grantScope) return ROLE_RANK[granter.role] >= ROLE_RANK[a.role] && keyScopes.includes(a.grantScope);
    return allows(a, granter);
  });
}
