import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { RequestMeta } from '../../platform/context.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import { providerView } from '../catalog/catalog.routes.js';
import type { ConnectionsService, CreateCredentialInput, TestConnectionInput } from '../connections/connections.service.js';
import { Label } from '../connections/fields.js';
import type { ConnectionStore } from '../connections/store.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import { newOpaqueToken, sha256 } from '../identity/tokens.js';
import type { AuthorizeService } from '../oauth/authorize.service.js';
import { type TenantsService, assertTenantOpen } from '../tenants/tenants.service.js';
import { STATE_TTL_MS } from '../oauth/authorize.service.js';
import { sessionExpired, sessionUsed } from './completion.js';
import type { ConnectSessionsRepo } from './connect-sessions.repo.js';

export const CONNECT_TOKEN_PREFIX = 'khc_';
export const MAX_TTL_SECONDS = 30 * 60;

/** `scheme://host[:port]` exactly as browsers report `event.origin`: no path, no trailing slash. */
export function isExactOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === value;
  } catch {
    return false;
  }
}

const Origin = z.string().max(200).refine(isExactOrigin, 'an exact origin such as https://app.example.com (scheme, host, optional port; no path)');
const SessionOptions = {
  endUser: z.strictObject({ id: z.string().trim().min(1).max(200), email: z.string().email().max(320).optional() }).optional()
    .describe("Your application's own user who connects (for your records and Keyhold's audit)"),
  allowedOrigins: z.array(Origin).max(20).optional().describe('Origins that may embed the page and receive its message (window.postMessage)'),
  returnTo: z.string().url().max(2048).optional().describe("Where the page sends the browser when done (connectionId added to the query); an origin of allowedOrigins when those are given"),
  expiresInSeconds: z.number().int().min(60).max(MAX_TTL_SECONDS).default(MAX_TTL_SECONDS).describe('Lifetime of the link: at most 30 minutes'),
};
export const CreateSessionInput = z.strictObject({
  allowedProviders: z.array(z.string().min(1).max(100)).min(1).max(100).optional().describe('Catalog ids the page offers (default: every provider)'),
  label: Label.default('default').describe('Label of the connection the page creates (several connections per provider)'),
  ...SessionOptions,
});
export const ReconnectSessionInput = z.strictObject({ connectionId: z.string().uuid().describe('A connection in needs_reauth'), ...SessionOptions });

/** What the Connect page may send: the credentials API's input minus what the session decides. */
export const PageCredentialsInput = z.strictObject({
  serviceName: z.string().trim().min(1).max(100),
  apiKey: z.string().min(1).max(4096),
  apiSecret: z.string().min(1).max(4096).optional(),
  additionalConfig: z.record(z.string(), z.unknown()).optional(),
});
export const PageOAuthInput = z.strictObject({
  shop: z.string().max(255).optional(),
  region: z.enum(['na', 'eu', 'fe']).optional(),
  marketplaceId: z.string().regex(/^[A-Z0-9]{10,14}$/).optional(),
});

export type ConnectSessionsDeps = {
  repo: ConnectSessionsRepo;
  tenancy: Tenancy;
  catalog: Pick<Catalog, 'get' | 'list'>;
  connections: Pick<ConnectionsService, 'create' | 'testConnection'>;
  authorize: Pick<AuthorizeService, 'startForConnectSession'>;
  store: Pick<ConnectionStore, 'byId'>;
  /** A suspended tenant's links stop working, as its keys do. */
  tenants: Pick<TenantsService, 'get'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  publicUrl: string;
  /** In production, returnTo and origins must be https (a loopback origin excepted for local testing is not). */
  production: boolean;
};

type SessionRow = NonNullable<Awaited<ReturnType<ConnectSessionsRepo['byHash']>>>;
const invalid = () => new AppError('CONNECT_SESSION_INVALID', 'This connect link is not valid');

export function createConnectSessionsService(deps: ConnectSessionsDeps) {
  const { repo, tenancy, catalog, audit, clock } = deps;

  function checkTargets(origins: string[], returnTo: string | undefined) {
    if (deps.production) {
      const plain = origins.find((o) => !o.startsWith('https://'));
      if (plain) throw new AppError('VALIDATION_FAILED', `allowedOrigins: ${plain} is not https`);
    }
    if (returnTo === undefined) return;
    const u = new URL(returnTo);
    if (u.protocol !== 'https:' && (deps.production || u.protocol !== 'http:')) throw new AppError('VALIDATION_FAILED', 'returnTo: must be an https URL');
    if (u.username || u.password) throw new AppError('VALIDATION_FAILED', 'returnTo: must not carry credentials');
    if (origins.length > 0 && !origins.includes(u.origin)) throw new AppError('VALIDATION_FAILED', 'returnTo: its origin must be one of allowedOrigins');
  }

  async function open(p: TenantPrincipal, row: {
    allowedProviders: string[] | null; label: string; reconnect: string | null;
    endUser: z.output<typeof CreateSessionInput>['endUser']; allowedOrigins: string[]; returnTo: string | undefined; expiresInSeconds: number;
  }) {
    const { token, hash } = newOpaqueToken(CONNECT_TOKEN_PREFIX);
    const now = clock();
    const expiresAt = new Date(now.getTime() + row.expiresInSeconds * 1000);
    const id = randomUUID();
    await tenancy.withTenant(p.tenantId, async (tx) => {
      await repo.insert(tx, {
        id, tenant_id: p.tenantId, token_hash: hash, allowed_providers: row.allowedProviders, label: row.label,
        end_user_id: row.endUser?.id ?? null, end_user_email: row.endUser?.email ?? null, allowed_origins: row.allowedOrigins,
        return_to: row.returnTo ?? null, reconnect_connection_id: row.reconnect, created_by: p.actor.id ?? 'unknown',
        expires_at: expiresAt, created_at: now,
      });
      // The token opens the page: only the session id goes into the audit chain.
      await audit.record(p, {
        action: row.reconnect ? 'connect_session.reconnect' : 'connect_session.create',
        entity: { type: 'connect_session', id },
        metadata: {
          allowedProviders: row.allowedProviders, label: row.label, endUserId: row.endUser?.id ?? null, allowedOrigins: row.allowedOrigins,
          returnToOrigin: row.returnTo ? new URL(row.returnTo).origin : null, expiresAt: expiresAt.toISOString(),
          ...(row.reconnect ? { connectionId: row.reconnect } : {}),
        },
      }, tx);
    });
    return { id, token, url: `${deps.publicUrl}/connect/${token}`, expiresAt: expiresAt.toISOString() };
  }

  /** A session for the SaaS's end user: a key with the `connect` scope (or a platform key naming the tenant). */
  async function create(p: TenantPrincipal, input: z.input<typeof CreateSessionInput>) {
    assertRole(p, 'admin');
    const data = CreateSessionInput.parse(input);
    const providers = data.allowedProviders ? [...new Set(data.allowedProviders)] : null;
    for (const id of providers ?? []) catalog.get(id); // UNKNOWN_PROVIDER names the one missing
    const origins = [...new Set(data.allowedOrigins ?? [])];
    checkTargets(origins, data.returnTo);
    return open(p, { allowedProviders: providers, label: data.label, reconnect: null, endUser: data.endUser, allowedOrigins: origins, returnTo: data.returnTo, expiresInSeconds: data.expiresInSeconds });
  }

  /** A session that re-authorises one connection the provider stopped accepting (needs_reauth only). */
  async function reconnect(p: TenantPrincipal, input: z.input<typeof ReconnectSessionInput>) {
    assertRole(p, 'admin');
    const data = ReconnectSessionInput.parse(input);
    const conn = await tenancy.withTenant(p.tenantId, (tx) => deps.store.byId(tx, data.connectionId));
    if (!conn) throw new AppError('NOT_FOUND', 'Connection not found');
    if (conn.status !== 'needs_reauth') throw new AppError('RECONNECT_NOT_NEEDED', `This connection is ${conn.status}; only a connection that needs re-authorisation can be reconnected here`);
    const origins = [...new Set(data.allowedOrigins ?? [])];
    checkTargets(origins, data.returnTo);
    return open(p, { allowedProviders: [conn.provider], label: conn.label, reconnect: conn.id, endUser: data.endUser, allowedOrigins: origins, returnTo: data.returnTo, expiresInSeconds: data.expiresInSeconds });
  }

  /** The session a token opens, whatever its state (null when unknown). Reads only; spends nothing. */
  async function find(token: string): Promise<SessionRow | null> {
    if (!token.startsWith(CONNECT_TOKEN_PREFIX) || token.length > 100) return null;
    const hash = sha256(token);
    const tenantId = await repo.tenantOf(hash);
    if (!tenantId) return null;
    return (await tenancy.withTenant(tenantId, (tx) => repo.byHash(tx, tenantId, hash))) ?? null;
  }

  /** An open session: known, unused, unexpired. */
  async function openSession(token: string): Promise<SessionRow> {
    const row = await find(token);
    if (!row) throw invalid();
    if (row.used_at) throw sessionUsed();
    if (row.expires_at.getTime() <= clock().getTime()) throw sessionExpired();
    assertTenantOpen((await deps.tenants.get(row.tenant_id)).status);
    return row;
  }

  /** The page's writes act for whoever opened the session, with no more than saving a connection needs. */
  const principalOf = (row: SessionRow, meta: RequestMeta): TenantPrincipal => ({
    ...meta, tenantId: row.tenant_id, actor: { type: 'api_key', id: row.created_by }, role: 'admin', scopes: ['credentials:write'],
  });

  function allowedProvider(row: SessionRow, id: string): Provider {
    if (row.allowed_providers && !row.allowed_providers.includes(id)) throw new AppError('FORBIDDEN', 'This connect link does not offer that provider');
    return catalog.get(id);
  }

  /** Origins that may frame the page: computed from the token without spending it (none when unknown). */
  async function frameAncestors(token: string): Promise<string[]> {
    const row = await find(token).catch(() => null);
    return row && !row.used_at && row.expires_at > clock() ? row.allowed_origins : [];
  }

  /** What the page shows: the offered providers' forms, never an existing secret. */
  async function view(token: string) {
    const row = await openSession(token);
    const providers = (row.allowed_providers ?? catalog.list().map((p) => p.id)).map((id) => providerView(catalog.get(id)));
    return { label: row.label, reconnect: row.reconnect_connection_id !== null, providers, allowedOrigins: row.allowed_origins, returnTo: row.return_to, expiresAt: row.expires_at.toISOString() };
  }

  async function test(token: string, input: z.input<typeof PageCredentialsInput>, meta: RequestMeta) {
    const row = await openSession(token);
    const data = PageCredentialsInput.parse(input);
    allowedProvider(row, data.serviceName);
    return deps.connections.testConnection(principalOf(row, meta), data satisfies z.input<typeof TestConnectionInput>);
  }

  /** Saves an API-key connection (verified first) and spends the session in the same transaction. */
  async function saveCredentials(token: string, input: z.input<typeof PageCredentialsInput>, meta: RequestMeta) {
    const row = await openSession(token);
    const data = PageCredentialsInput.parse(input);
    const provider = allowedProvider(row, data.serviceName);
    if (provider.oauth || row.reconnect_connection_id) throw new AppError('VALIDATION_FAILED', `serviceName: ${provider.displayName} connects by OAuth here`);
    const body: z.input<typeof CreateCredentialInput> = { ...data, label: row.label };
    const saved = await deps.connections.create(principalOf(row, meta), body, { connectSessionId: row.id });
    return { connectionId: saved.id, provider: provider.id, label: saved.label };
  }

  /** Starts the provider's consent for the session; the callback spends it and returns to /connect/done. */
  async function startOAuth(token: string, providerId: string, input: z.input<typeof PageOAuthInput>, meta: RequestMeta) {
    const row = await openSession(token);
    const provider = allowedProvider(row, providerId);
    if (!provider.oauth) throw new AppError('OAUTH_NOT_SUPPORTED', `${provider.displayName} connects with an API key`);
    const data = PageOAuthInput.parse(input);
    return deps.authorize.startForConnectSession(principalOf(row, meta), row.id, provider.id, { ...data, label: row.label });
  }

  /**
   * What a completed session produced, for the page to announce (postMessage, returnTo) after an
   * OAuth round trip. Only the token's holder asks, and only shortly after the session's end.
   */
  async function result(token: string) {
    const row = await find(token);
    if (!row) throw invalid();
    if (!row.used_at || !row.connection_id) throw new AppError('NOT_FOUND', 'This connect link has not connected an account yet');
    if (row.expires_at.getTime() + STATE_TTL_MS <= clock().getTime()) throw sessionExpired();
    const conn = await tenancy.withTenant(row.tenant_id, (tx) => deps.store.byId(tx, row.connection_id!));
    if (!conn) throw new AppError('NOT_FOUND', 'The connection is gone');
    return { connectionId: conn.id, provider: conn.provider, label: conn.label, allowedOrigins: row.allowed_origins, returnTo: row.return_to };
  }

  return { create, reconnect, frameAncestors, view, test, saveCredentials, startOAuth, result };
}
export type ConnectSessionsService = ReturnType<typeof createConnectSessionsService>;
