import { type Pagination, paginate } from '@keyhold/contract';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import { mask } from '../../platform/crypto/secret.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import { destinationFields } from '../catalog/destinations.js';
import type { MfaService } from '../identity/mfa.service.js';
import { type TenantPrincipal, assertRole, assertScope } from '../identity/principal.js';
import type { ConnectionRow } from './connections.repo.js';
import { Label, primaryField, secondaryField, splitInput } from './fields.js';
import { providerBaseUrl, tenantBaseUrlField } from './provider-request.js';
import { verifyCredentials } from './verify.js';
import type { TenantUrlGuard } from '../../platform/http/public-dispatcher.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import { type WarmCache, createWarmCache } from './warm-cache.js';
import { createConnectionUse } from './in-use.js';
import type { ConnectSessionCompletion } from '../connect-sessions/completion.js';
import type { ConnectionChange, ConnectionStore, EventDetail, InUse, Revocation } from './store.js';

export type { InUse } from './store.js';

const Config = z.record(z.string(), z.unknown());
export const CreateCredentialInput = z.object({
  serviceName: z.string().trim().min(1).max(100),
  apiKey: z.string().min(1).max(4096),
  apiSecret: z.string().min(1).max(4096).optional(),
  additionalConfig: Config.optional(),
  isActive: z.boolean().default(true),
  label: Label.default('default'),
});
export const TestConnectionInput = CreateCredentialInput.pick({ serviceName: true, apiKey: true, apiSecret: true, additionalConfig: true });
export const UpdateCredentialInput = z
  .object({ apiKey: z.string().min(1).max(4096).optional(), apiSecret: z.string().min(1).max(4096).optional(), additionalConfig: Config.optional(), isActive: z.boolean().optional() })
  .refine((v) => Object.values(v).some((x) => x !== undefined), 'give at least one of apiKey, apiSecret, additionalConfig, isActive');

/** What every response but reveal shows: secrets masked, never whole. */
export type MaskedCredential = {
  id: string;
  service_name: string;
  label: string;
  api_key: string;
  api_secret: '***' | null;
  config: Record<string, string>;
  status: string;
  is_active: boolean;
  last_used: string | null;
  last_verified: string | null;
  last_refreshed: string | null;
  token_expires_at: string | null;
  created_at: string;
  updated_at: string;
  webhook_url?: string;
};

/** A newly saved credential, and whether the provider verified it before it was saved. */
export type CreatedCredential = MaskedCredential & { verified: boolean; restricted?: string };

export type ConnectionsDeps = {
  store: ConnectionStore;
  tenancy: Tenancy;
  catalog: Pick<Catalog, 'get'>;
  audit: Pick<AuditService, 'record' | 'recordAtMostEvery'>;
  mfa: Pick<MfaService, 'verifyStepUp'>;
  clock: Clock;
  /** Base URLs a tenant supplies are checked (SSRF) when saved, unless the operator allows private addresses. */
  tenantUrls: Pick<TenantUrlGuard, 'check'>;
  /** Sends verify requests to providers. */
  http: Pick<ProviderHttp, 'request'>;
  /** OAuth: refreshes an access token about to expire before it is handed out. */
  fresh?: (tenantId: string, current: InUse, opts?: { force?: boolean }) => Promise<InUse>;
  /** One-round-trip read in a tenant's RLS context (platform/db/one-trip.ts), for warm reads. */
  readAsTenant?: <T>(tenantId: string, select: string) => Promise<T[]>;
  /** This process's warm connections (shared with the OAuth services, which drop entries they change). */
  warm?: WarmCache;
  /** OAuth: revokes the grant at the provider before a connection is deleted. */
  revokeAtProvider?: (provider: Provider, config: Record<string, string>, secrets: Record<string, string>) => Promise<Revocation>;
  /** Where browsers and providers reach Keyhold (per-connection webhook URLs). */
  publicUrl?: string;
  /** Hosted Connect: a save from a Connect page completes its session in the same transaction. */
  connectSessions?: ConnectSessionCompletion;
};

const notFound = () => new AppError('NOT_FOUND', 'Credential not found');
/** Who made a change, for its event. */
const madeBy = (p: TenantPrincipal): EventDetail => ({ source: 'credentials', by: { type: p.actor.type, id: p.actor.id } });

export function createConnectionsService(deps: ConnectionsDeps) {
  const { store, tenancy, audit } = deps;
  const { forUse, forceRefresh, setHealth } = createConnectionUse({ ...deps, warm: deps.warm ?? createWarmCache() });
  const guard = (url: string, field = 'additionalConfig.baseUrl') => deps.tenantUrls.check(url, field);
  /** A base URL the tenant supplies is checked when saved and before every call. */
  const checkTenantBaseUrl = async (provider: Provider, config: Record<string, string>) => {
    const field = tenantBaseUrlField(provider);
    if (field && config[field] !== undefined) await guard(config[field], `additionalConfig.${field}`);
  };
  /** The provider HTTP client guards a tenant-supplied base URL itself. */
  const verifyOpts = (_provider: Provider) => ({ http: deps.http });

  const readSecrets = store.secretsOf;

  async function toMasked(tx: TenantTx, row: ConnectionRow): Promise<MaskedCredential> {
    const provider = deps.catalog.get(row.provider);
    const secrets = await readSecrets(tx, row);
    const secondary = secondaryField(provider);
    return {
      id: row.id,
      service_name: row.provider,
      label: row.label,
      api_key: mask(secrets[primaryField(provider).name] ?? ''),
      api_secret: secondary && secrets[secondary.name] !== undefined ? ('***' as const) : null,
      config: row.config,
      status: row.status,
      is_active: row.is_active,
      last_used: row.last_used_at?.toISOString() ?? null,
      last_verified: row.last_verified_at?.toISOString() ?? null,
      last_refreshed: row.last_refreshed_at?.toISOString() ?? null,
      token_expires_at: row.token_expires_at?.toISOString() ?? null,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
      ...(row.endpoint_token && deps.publicUrl ? { webhook_url: `${deps.publicUrl}/api/webhooks/${row.provider}/${row.endpoint_token}` } : {}),
    };
  }

  /**
   * Saves a credential, verified with the provider first (unless `verify: false`): a key the
   * provider refuses, or cannot be checked because the provider is unreachable, is not saved. The
   * provider call happens before, and outside, the tenant transaction. A provider without a verify
   * request is saved unverified.
   */
  async function create(p: TenantPrincipal, input: z.input<typeof CreateCredentialInput>, opts: { verify?: boolean; connectSessionId?: string } = {}): Promise<CreatedCredential> {
    assertRole(p, 'admin');
    const data = CreateCredentialInput.parse(input);
    const provider = deps.catalog.get(data.serviceName);
    const { credentials, config } = splitInput(provider, data);
    await checkTenantBaseUrl(provider, config);
    const check: { verified: boolean; restricted?: string } = opts.verify !== false ? await verifyBeforeSaving(provider, { config, secrets: credentials }) : { verified: false };
    const { verified } = check;
    try {
      return await tenancy.withTenant(p.tenantId, async (tx) => {
        const session = opts.connectSessionId;
        if (session) {
          if (!deps.connectSessions) throw new Error('Connect sessions are not wired');
          await deps.connectSessions.begin(tx, session);
        }
        const row = await store.create(tx, {
          tenantId: p.tenantId,
          provider,
          label: data.label,
          secrets: credentials,
          config,
          status: data.isActive ? 'active' : 'disabled',
          createdBy: p.actor.id,
          ...(verified ? { lastVerifiedAt: deps.clock() } : {}),
        }, madeBy(p));
        if (session) await deps.connectSessions!.finish(tx, session, row.id);
        await audit.record(p, { action: 'api_credentials.create', entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label: data.label, fields: Object.keys(credentials), verified, ...(check.restricted ? { restricted: true } : {}), ...(session ? { connectSession: session } : {}) } }, tx);
        return { ...(await toMasked(tx, row)), verified, ...(check.restricted ? { restricted: check.restricted } : {}) };
      });
    } catch (err) {
      throw store.conflictOf(err, provider, data.label) ?? err;
    }
  }

  /**
   * True when the provider accepted the credentials, false when it has no verify request; throws
   * when it refused them (422) or could not be reached (502). The error names the provider's HTTP
   * status, never its body (which may echo the key).
   */
  async function verifyBeforeSaving(provider: Provider, values: { config: Record<string, string>; secrets: Record<string, string> }): Promise<{ verified: boolean; restricted?: string }> {
    const result = await verifyCredentials(provider, values, verifyOpts(provider));
    if (result.ok) return { verified: true, ...(result.restricted ? { restricted: result.restricted } : {}) };
    if (result.reason === 'no_verify_request') return { verified: false };
    const status = result.status === null ? '' : ` (HTTP ${result.status})`;
    if (result.reason === 'unreachable') {
      throw new AppError('INTEGRATION_UNAVAILABLE', `Could not reach ${provider.displayName} to verify these credentials${status}; nothing was saved. Try again later, or save without verifying (?verify=false)`, { status: 502 });
    }
    throw new AppError('CONNECTION_TEST_FAILED', `${provider.displayName} refused these credentials${status}; nothing was saved`);
  }

  async function list(p: TenantPrincipal, f: { page: number; limit: number; serviceName?: string; isActive?: boolean }): Promise<{ items: MaskedCredential[]; pagination: Pagination }> {
    assertRole(p, 'admin');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const { rows, total } = await store.page(tx, { limit: f.limit, offset: (f.page - 1) * f.limit, ...(f.serviceName ? { provider: f.serviceName } : {}), ...(f.isActive !== undefined ? { isActive: f.isActive } : {}) });
      const items: MaskedCredential[] = [];
      for (const row of rows) items.push(await toMasked(tx, row));
      return { items, pagination: paginate(f.page, f.limit, total) };
    });
  }

  async function get(p: TenantPrincipal, id: string): Promise<MaskedCredential> {
    assertRole(p, 'admin');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.byId(tx, id);
      if (!row) throw notFound();
      return toMasked(tx, row);
    });
  }

  /** Owner only, after step-up MFA (enforced by the route); audited. */
  async function reveal(p: TenantPrincipal, id: string) {
    assertRole(p, 'owner');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.byId(tx, id);
      if (!row) throw notFound();
      const provider = deps.catalog.get(row.provider);
      const secrets = await readSecrets(tx, row);
      const secondary = secondaryField(provider);
      await audit.record(p, { action: 'api_credentials.reveal', entity: { type: 'connection', id }, metadata: { serviceName: row.provider, label: row.label } }, tx);
      return {
        id: row.id,
        service_name: row.provider,
        label: row.label,
        api_key: secrets[primaryField(provider).name] ?? '',
        api_secret: secondary ? (secrets[secondary.name] ?? null) : null,
        credentials: secrets,
        config: row.config,
        is_active: row.is_active,
      };
    });
  }

  /**
   * A change of any secret is a rotation: it needs a step-up code (`mfaCode`), and the new
   * credentials are verified with the provider first (unless `verify: false`). The old ones stay
   * in place until the new ones pass, so the connection is never left broken. Changing where or
   * how the secrets are sent (base URL, store domain, header name or template, verify path…) is as
   * sensitive as a rotation: the same step-up, audited, and an event for the tenant's owners.
   */
  async function update(
    p: TenantPrincipal,
    id: string,
    input: z.input<typeof UpdateCredentialInput>,
    opts: { mfaCode?: string; verify?: boolean } = {},
  ): Promise<MaskedCredential> {
    assertRole(p, 'admin');
    const data = UpdateCredentialInput.parse(input);
    const current = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.byId(tx, id);
      return row && { row, secrets: await readSecrets(tx, row) };
    });
    if (!current) throw notFound();
    const provider: Provider = deps.catalog.get(current.row.provider);
    const { credentials, config } = splitInput(provider, data, { partial: true });
    await checkTenantBaseUrl(provider, config);
    const rotates = Object.keys(credentials).length > 0;
    const destinations = destinationFields(provider);
    const redirected = Object.keys(config).filter((k) => destinations.has(k) && config[k] !== current.row.config[k]);
    if (rotates || redirected.length > 0) await deps.mfa.verifyStepUp(p, opts.mfaCode);
    const merged = { ...current.secrets, ...credentials };
    const mergedConfig = { ...current.row.config, ...config };
    // Verified the way a new credential is (also a tenant-defined API's own verify path); the
    // old secret stays in use unless the new one passes.
    let verified = false;
    if (rotates && opts.verify !== false) {
      const result = await verifyCredentials(provider, { config: mergedConfig, secrets: merged }, verifyOpts(provider));
      if (!result.ok && result.reason !== 'no_verify_request') {
        // A provider that cannot be reached answers 502 here, as the test-connection route documents.
        throw new AppError(result.reason === 'unreachable' ? 'INTEGRATION_UNAVAILABLE' : 'CONNECTION_TEST_FAILED',
          `${provider.displayName} did not accept the new credentials; the current ones stay in use`, result.reason === 'unreachable' ? { status: 502 } : {});
      }
      verified = result.ok;
    }
    const change: PlannedUpdate = {
      credentials,
      config,
      merged,
      mergedConfig,
      redirected,
      edited: Object.keys(config).filter((k) => config[k] !== current.row.config[k] && !redirected.includes(k)),
      verified,
      isActive: data.isActive,
    };
    try {
      return await tenancy.withTenant(p.tenantId, (tx) => writeUpdate(tx, p, current.row, change));
    } catch (err) {
      throw store.conflictOf(err, provider, current.row.label) ?? err;
    }
  }

  type PlannedUpdate = {
    credentials: Record<string, string>;
    config: Record<string, string>;
    merged: Record<string, string>;
    mergedConfig: Record<string, string>;
    redirected: string[];
    edited: string[];
    verified: boolean;
    isActive: boolean | undefined;
  };

  /** Writes an update decided on `read`: one connection event per kind of change, the config with the first. */
  async function writeUpdate(tx: TenantTx, p: TenantPrincipal, read: ConnectionRow, u: PlannedUpdate): Promise<MaskedCredential> {
    const row = await store.byId(tx, read.id, { lock: true });
    if (!row) throw notFound();
    // Decisions (step-up, merged config) were made on what was read first: a concurrent change of
    // secrets or config would be undone by this write, so it is refused instead.
    if (row.credential_version !== read.credential_version || JSON.stringify(row.config) !== JSON.stringify(read.config)) {
      throw new AppError('CONFLICT', 'This credential changed while you were updating it; reload and try again');
    }
    const rotates = Object.keys(u.credentials).length > 0;
    let updated = row;
    let pendingConfig: ConnectionChange = u.redirected.length + u.edited.length > 0 ? { config: u.mergedConfig } : {};
    const step = async (change: ConnectionChange, why: Parameters<ConnectionStore['update']>[3]) => {
      updated = (await store.update(tx, updated, { ...pendingConfig, ...change }, why)) ?? updated;
      pendingConfig = {};
    };
    if (rotates) {
      // A verified rotation heals an unhealthy connection, never enables a disabled one.
      await step({ secrets: u.merged, ...(u.verified ? { lastVerifiedAt: deps.clock() } : {}) },
        { reason: 'rotated', detail: { ...madeBy(p), fields: Object.keys(u.credentials) }, ...(u.verified && row.status !== 'disabled' ? { to: 'active' as const } : {}) });
    }
    if (u.redirected.length > 0) await step({}, { reason: 'destination_changed', detail: { ...madeBy(p), fields: u.redirected } });
    if (u.edited.length > 0) await step({}, { reason: 'updated', detail: { ...madeBy(p), fields: u.edited } });
    if (u.isActive !== undefined) {
      // Enabling applies to a disabled connection only: it does not paper over needs_reauth or error.
      updated = (await store.transition(tx, updated, u.isActive ? 'active' : 'disabled', {
        reason: u.isActive ? 'enabled' : 'disabled', detail: madeBy(p), ...(u.isActive ? { onlyFrom: ['disabled'] as const } : {}),
      })) ?? updated;
    }
    await audit.record(p, {
      action: rotates ? 'api_credentials.rotate' : u.redirected.length > 0 ? 'api_credentials.redirect' : 'api_credentials.update',
      entity: { type: 'connection', id: row.id },
      metadata: {
        serviceName: row.provider,
        label: row.label,
        changedFields: [...Object.keys(u.credentials), ...Object.keys(u.config), ...(u.isActive !== undefined ? ['isActive'] : [])],
        ...(u.redirected.length > 0 ? { destinationFields: u.redirected } : {}),
      },
    }, tx);
    return toMasked(tx, updated);
  }

  /** Owner only, after step-up MFA (enforced by the route); audited. */
  async function remove(p: TenantPrincipal, id: string): Promise<void> {
    assertRole(p, 'owner');
    // An OAuth grant is revoked at the provider first (outside the transaction), so a deleted
    // connection leaves no live token behind.
    const loaded = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.byId(tx, id);
      return row && { row, secrets: await readSecrets(tx, row) };
    });
    if (!loaded) throw notFound();
    const provider = deps.catalog.get(loaded.row.provider);
    const revocation = provider.oauth && deps.revokeAtProvider ? await deps.revokeAtProvider(provider, loaded.row.config, loaded.secrets) : 'not_supported';
    await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.remove(tx, { id }, { ...madeBy(p), revocation });
      if (!row) throw notFound();
      await audit.record(p, { action: 'api_credentials.delete', entity: { type: 'connection', id }, metadata: { serviceName: row.provider, label: row.label, revocation } }, tx);
    });
  }

  /** Runs the provider's verify request with unsaved credentials (nothing is stored). */
  async function testConnection(p: TenantPrincipal, input: z.input<typeof TestConnectionInput>) {
    assertRole(p, 'admin');
    const data = TestConnectionInput.parse(input);
    const provider = deps.catalog.get(data.serviceName);
    const { credentials, config } = splitInput(provider, data);
    await checkTenantBaseUrl(provider, config);
    const result = await verifyCredentials(provider, { config, secrets: credentials }, verifyOpts(provider));
    await audit.record(p, { action: 'api_credentials.test', metadata: { serviceName: provider.id, ok: result.ok, status: result.status } });
    return { serviceName: provider.id, result, testedAt: deps.clock().toISOString() };
  }

  /** Tests a saved connection and records the outcome (status, last_verified). */
  async function testSaved(p: TenantPrincipal, id: string) {
    assertRole(p, 'admin');
    const loaded = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.byId(tx, id);
      if (!row) throw notFound();
      return { row, secrets: await readSecrets(tx, row) };
    });
    const provider = deps.catalog.get(loaded.row.provider);
    // The provider call happens outside any transaction; the outcome is written after.
    const result = await verifyCredentials(provider, { config: loaded.row.config, secrets: loaded.secrets }, verifyOpts(provider));
    const testedAt = deps.clock();
    await tenancy.withTenant(p.tenantId, async (tx) => {
      const detail: EventDetail = { ...madeBy(p), source: 'test' };
      if (result.ok) {
        await store.touchVerified(tx, id, testedAt);
        await store.transition(tx, { id }, 'active', { reason: 'recovered', detail, onlyFrom: ['degraded', 'error', 'needs_reauth'] });
      } else if (result.reason === 'unreachable') {
        // Says nothing about the credentials: only a healthy connection shows as degraded.
        await store.transition(tx, { id }, 'degraded', { reason: 'degraded', detail: { ...detail, error: 'unreachable' }, onlyFrom: ['active'] });
      } else if (result.reason === 'rejected') {
        await store.transition(tx, { id }, 'error', { reason: 'verification_failed', detail: { ...detail, error: 'rejected' }, onlyFrom: ['active', 'degraded', 'error'] });
      }
      await audit.record(p, { action: 'api_credentials.test', entity: { type: 'connection', id }, metadata: { serviceName: provider.id, ok: result.ok, status: result.status } }, tx);
    });
    return { serviceName: provider.id, result, testedAt: testedAt.toISOString() };
  }

  /**
   * Machine access for business code (the SDK): an API key with `credentials:read` gets the
   * plaintext credentials and config of one connection. Audited once per key and connection per
   * hour; `last_used` written at most once a minute.
   */
  /**
   * Plaintext credentials for business code. An OAuth refresh token is left out: code that
   * refreshes on its own races Keyhold's fenced refresh and breaks rotating grants. Only a platform
   * key with 'credentials:read:refresh' gets it, on request, and each such read is audited.
   */
  async function readForMachine(p: TenantPrincipal, providerId: string, label = 'default', opts: { includeRefreshToken?: boolean } = {}) {
    if (!p.scopes) throw new AppError('FORBIDDEN', "Use an API key with the 'credentials:read' scope; people use reveal");
    assertScope(p, 'credentials:read');
    if (opts.includeRefreshToken) {
      if (!p.actor.id?.startsWith('platform:')) throw new AppError('FORBIDDEN', 'Only a platform API key can read refresh tokens');
      assertScope(p, 'credentials:read:refresh');
    }
    const provider = deps.catalog.get(providerId);
    const { row, secrets } = await forUse(p, provider, label, 'api_credentials.machine_read');
    const { refreshToken, ...credentials } = secrets;
    if (opts.includeRefreshToken && refreshToken !== undefined) {
      await tenancy.withTenant(p.tenantId, (tx) => audit.record(p, { action: 'api_credentials.refresh_token_read', entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label: row.label } }, tx));
    }
    return {
      id: row.id,
      provider: provider.id,
      label: row.label,
      credentials: opts.includeRefreshToken && refreshToken !== undefined ? { ...credentials, refreshToken } : credentials,
      config: row.config,
      credentialVersion: row.credential_version,
      status: row.status,
      expiresAt: row.token_expires_at?.toISOString() ?? null,
      baseUrl: machineBaseUrl(provider, row.config, secrets),
    };
  }

  /**
   * Where this server sends the provider's API calls for the connection (the catalog's base URL
   * or its configured override, e.g. the sandbox in the demo), so an official client built from
   * the read reaches the same place. Filled from non-secret config only; null when the
   * connection lacks a field the URL needs. Any userinfo (`user:pass@`) is dropped: a base URL
   * configured with credentials must not hand them to every key holding 'credentials:read'.
   */
  function machineBaseUrl(provider: Provider, config: Record<string, string>, secrets: Record<string, string>): string | null {
    try {
      return withoutUserinfo(providerBaseUrl(provider, { config, secrets }));
    } catch (err) {
      if (err instanceof AppError) return null;
      throw err;
    }
  }

  return { create, list, get, reveal, update, remove, testConnection, testSaved, readForMachine, forUse, forceRefresh, setHealth };
}
export type ConnectionsService = ReturnType<typeof createConnectionsService>;

/** The URL without `user:pass@`; a value that is not an absolute URL has no userinfo to drop. */
function withoutUserinfo(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/+$/, '');
}
