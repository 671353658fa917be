import { randomUUID } from 'node:crypto';
import { type Pagination, paginate } from '@keyhold/contract';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import { mask } from '../../platform/crypto/secret.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import { destinationFields } from '../catalog/destinations.js';
import type { MfaService } from '../identity/mfa.service.js';
import { type TenantPrincipal, assertRole, assertScope } from '../identity/principal.js';
import type { Vault } from '../vault/vault.service.js';
import type { ConnectionRow, ConnectionsRepo } from './connections.repo.js';
import { primaryField, secondaryField, splitInput } from './fields.js';
import { tenantBaseUrlField } from './provider-request.js';
import { verifyCredentials } from './verify.js';
import type { TenantUrlGuard } from '../../platform/http/public-dispatcher.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import { literal } from '../../platform/db/one-trip.js';
import { boundedMap } from '../../platform/bounded-map.js';
import { type WarmCache, createWarmCache } from './warm-cache.js';

export const SECRETS_PURPOSE = 'connection.secrets';

const Label = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'letters, digits, space, . _ -; up to 63 characters');
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
  created_at: string;
  updated_at: string;
};

export type ConnectionsDeps = {
  repo: ConnectionsRepo;
  tenancy: Tenancy;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
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
  revokeAtProvider?: (provider: Provider, config: Record<string, string>, secrets: Record<string, string>) => Promise<string>;
};

const notFound = () => new AppError('NOT_FOUND', 'Credential not found');

/** A connection's row and decrypted secrets, for the duration of one use. */
export type InUse = { row: ConnectionRow; secrets: Record<string, string> };

/** How long a decrypted connection may be reused from this process's memory (always re-validated first). */
const WARM_MS = 60_000;
const NOTED_MAX = 10_000;
/** How long a warm entry is trusted without asking the database again. */
const REVALIDATE_MS = 1000;

export function createConnectionsService(deps: ConnectionsDeps) {
  const { repo, tenancy, vault, audit } = deps;
  const warm = deps.warm ?? createWarmCache();
  const noted = boundedMap<string, number>(NOTED_MAX);
  const guard = (url: string, field = 'additionalConfig.baseUrl') => deps.tenantUrls.check(url, field);
  /** A base URL the tenant supplies is checked when saved and before every call. */
  const checkTenantBaseUrl = async (provider: Provider, config: Record<string, string>) => {
    const field = tenantBaseUrlField(provider);
    if (field && config[field] !== undefined) await guard(config[field], `additionalConfig.${field}`);
  };
  /** The provider HTTP client guards a tenant-supplied base URL itself. */
  const verifyOpts = (_provider: Provider) => ({ http: deps.http });

  const readSecrets = async (tx: TenantTx, row: ConnectionRow) =>
    JSON.parse((await vault.decrypt(tx, SECRETS_PURPOSE, row.id, row.secrets)).reveal()) as Record<string, string>;

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
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    };
  }

  const conflict = (provider: string, label: string) =>
    new AppError('CONFLICT', `Credentials for service '${provider}' already exist${label === 'default' ? '' : ` with label '${label}'`}`);

  async function create(p: TenantPrincipal, input: z.input<typeof CreateCredentialInput>): Promise<MaskedCredential> {
    assertRole(p, 'admin');
    const data = CreateCredentialInput.parse(input);
    const provider = deps.catalog.get(data.serviceName);
    const { credentials, config } = splitInput(provider, data);
    await checkTenantBaseUrl(provider, config);
    const id = randomUUID();
    try {
      return await tenancy.withTenant(p.tenantId, async (tx) => {
        const max = await repo.maxConnectionsForUpdate(tx);
        if ((await repo.count(tx)) >= max) throw new AppError('QUOTA_EXCEEDED', `Your plan allows ${max} connections; remove one or upgrade to add more`);
        const row = await repo.insert(tx, {
          id,
          tenant_id: p.tenantId,
          provider: provider.id,
          label: data.label,
          auth_mode: provider.authMode,
          secrets: await vault.encrypt(tx, SECRETS_PURPOSE, id, JSON.stringify(credentials)),
          config: JSON.stringify(config),
          is_active: data.isActive,
          status: data.isActive ? 'active' : 'disabled',
          created_by: p.actor.id,
        });
        await audit.record(p, { action: 'api_credentials.create', entity: { type: 'connection', id }, metadata: { serviceName: provider.id, label: data.label, fields: Object.keys(credentials) } }, tx);
        return toMasked(tx, row);
      });
    } catch (err) {
      if (isUniqueViolation(err, 'connections_tenant_provider_label')) throw conflict(provider.id, data.label);
      throw err;
    }
  }

  async function list(p: TenantPrincipal, f: { page: number; limit: number; serviceName?: string; isActive?: boolean }): Promise<{ items: MaskedCredential[]; pagination: Pagination }> {
    assertRole(p, 'admin');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const { rows, total } = await repo.page(tx, { limit: f.limit, offset: (f.page - 1) * f.limit, ...(f.serviceName ? { provider: f.serviceName } : {}), ...(f.isActive !== undefined ? { isActive: f.isActive } : {}) });
      const items: MaskedCredential[] = [];
      for (const row of rows) items.push(await toMasked(tx, row));
      return { items, pagination: paginate(f.page, f.limit, total) };
    });
  }

  async function get(p: TenantPrincipal, id: string): Promise<MaskedCredential> {
    assertRole(p, 'admin');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await repo.byId(tx, id);
      if (!row) throw notFound();
      return toMasked(tx, row);
    });
  }

  /** Owner only, after step-up MFA (enforced by the route); audited. */
  async function reveal(p: TenantPrincipal, id: string) {
    assertRole(p, 'owner');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await repo.byId(tx, id);
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
      const row = await repo.byId(tx, id);
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
    if (rotates && provider.verify && opts.verify !== false) {
      const result = await verifyCredentials(provider, { config: mergedConfig, secrets: merged }, verifyOpts(provider));
      if (!result.ok) {
        // A provider that cannot be reached answers 502 here, as the test-connection route documents.
        throw new AppError(result.reason === 'unreachable' ? 'INTEGRATION_UNAVAILABLE' : 'CONNECTION_TEST_FAILED',
          `${provider.displayName} did not accept the new credentials; the current ones stay in use`, result.reason === 'unreachable' ? { status: 502 } : {});
      }
    }
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await repo.byId(tx, id, { lock: true });
      if (!row) throw notFound();
      // Decisions above (step-up, merged config) were made on what was read first: a concurrent
      // change of secrets or config would be undone by this write, so it is refused instead.
      if (row.credential_version !== current.row.credential_version || JSON.stringify(row.config) !== JSON.stringify(current.row.config)) {
        throw new AppError('CONFLICT', 'This credential changed while you were updating it; reload and try again');
      }
      warm.invalidate(p.tenantId, row.provider, row.label);
      const updated = await repo.update(tx, id, {
        ...(rotates ? { secrets: await vault.encrypt(tx, SECRETS_PURPOSE, id, JSON.stringify(merged)), credential_version: row.credential_version + 1 } : {}),
        ...(rotates && provider.verify && opts.verify !== false ? { last_verified_at: deps.clock(), status: 'active' as const } : {}),
        ...(Object.keys(config).length ? { config: JSON.stringify(mergedConfig) } : {}),
        ...(data.isActive !== undefined ? { is_active: data.isActive, status: data.isActive ? ('active' as const) : ('disabled' as const) } : {}),
      });
      await audit.record(p, {
        action: rotates ? 'api_credentials.rotate' : redirected.length > 0 ? 'api_credentials.redirect' : 'api_credentials.update',
        entity: { type: 'connection', id },
        metadata: {
          serviceName: row.provider,
          label: row.label,
          changedFields: [...Object.keys(credentials), ...Object.keys(config), ...(data.isActive !== undefined ? ['isActive'] : [])],
          ...(redirected.length > 0 ? { destinationFields: redirected } : {}),
        },
      }, tx);
      const by = { type: p.actor.type, id: p.actor.id };
      if (rotates) await repo.insertEvent(tx, { tenant_id: p.tenantId, connection_id: id, type: 'rotated', detail: { fields: Object.keys(credentials), by } });
      if (redirected.length > 0) await repo.insertEvent(tx, { tenant_id: p.tenantId, connection_id: id, type: 'destination_changed', detail: { fields: redirected, by } });
      return toMasked(tx, updated);
    });
  }

  /** Owner only, after step-up MFA (enforced by the route); audited. */
  async function remove(p: TenantPrincipal, id: string): Promise<void> {
    assertRole(p, 'owner');
    // An OAuth grant is revoked at the provider first (outside the transaction), so a deleted
    // connection leaves no live token behind.
    const loaded = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await repo.byId(tx, id);
      return row && { row, secrets: await readSecrets(tx, row) };
    });
    if (!loaded) throw notFound();
    const provider = deps.catalog.get(loaded.row.provider);
    const revocation = provider.oauth && deps.revokeAtProvider ? await deps.revokeAtProvider(provider, loaded.row.config, loaded.secrets) : 'not_supported';
    await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await repo.byId(tx, id, { lock: true });
      if (!row) throw notFound();
      await repo.remove(tx, id);
      warm.invalidate(p.tenantId, row.provider, row.label);
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
      const row = await repo.byId(tx, id);
      if (!row) throw notFound();
      return { row, secrets: await readSecrets(tx, row) };
    });
    const provider = deps.catalog.get(loaded.row.provider);
    // The provider call happens outside any transaction; the outcome is written after.
    const result = await verifyCredentials(provider, { config: loaded.row.config, secrets: loaded.secrets }, verifyOpts(provider));
    const testedAt = deps.clock();
    await tenancy.withTenant(p.tenantId, async (tx) => {
      await repo.update(tx, id, result.ok ? { status: 'active', last_verified_at: testedAt } : { status: result.reason === 'unreachable' ? 'degraded' : 'error' });
      await audit.record(p, { action: 'api_credentials.test', entity: { type: 'connection', id }, metadata: { serviceName: provider.id, ok: result.ok, status: result.status } }, tx);
    });
    return { serviceName: provider.id, result, testedAt: testedAt.toISOString() };
  }

  /**
   * Machine access for business code (the SDK): an API key with `credentials:read` gets the
   * plaintext credentials and config of one connection. Audited once per key and connection per
   * hour; `last_used` written at most once a minute.
   */
  async function readForMachine(p: TenantPrincipal, providerId: string, label = 'default') {
    if (!p.scopes) throw new AppError('FORBIDDEN', "Use an API key with the 'credentials:read' scope; people use reveal");
    assertScope(p, 'credentials:read');
    const provider = deps.catalog.get(providerId);
    const { row, secrets } = await forUse(p, provider, label, 'api_credentials.machine_read');
    return {
      id: row.id,
      provider: provider.id,
      label: row.label,
      credentials: secrets,
      config: row.config,
      credentialVersion: row.credential_version,
      status: row.status,
      expiresAt: row.token_expires_at?.toISOString() ?? null,
    };
  }

  /**
   * One connection of the principal's tenant, ready to use: active, its OAuth token refreshed
   * when about to expire. Audited once per principal and connection per hour (`action`);
   * `last_used` written at most once a minute.
   */
  async function forUse(p: TenantPrincipal, provider: Provider, label: string, action: string): Promise<InUse> {
    // Labels come from headers and queries; one that no connection could have is simply not found.
    if (!Label.safeParse(label).success || label !== label.trim()) {
      throw new AppError('NOT_FOUND', `No ${provider.displayName} connection labelled like that for this organization`);
    }
    const key = warm.keyOf(p.tenantId, provider.id, label);
    const current = (await warmRead(p, key, provider, label)) ?? (await coldRead(p, provider, label, action));
    if (!current.warm) warm.set(key, { ...current.inUse, cachedAt: Date.now(), checkedAt: Date.now() });
    else await noteUse(p, current.inUse.row, provider, label, action);
    // Outside any transaction: a refresh may call the provider.
    let used: InUse;
    try {
      used = deps.fresh ? await deps.fresh(p.tenantId, current.inUse) : current.inUse;
    } catch (err) {
      warm.delete(key); // e.g. now needs_reauth: the next use reads the row again
      throw err;
    }
    if (used !== current.inUse) warm.set(key, { ...used, cachedAt: Date.now(), checkedAt: Date.now() });
    return used;
  }

  /**
   * Warm path: the decrypted connection from this process's cache (at most a minute old), after
   * one round trip confirms it is still the same row, version and state. Anything else: null.
   */
  async function warmRead(p: TenantPrincipal, key: string, provider: Provider, label: string) {
    const hit = warm.get(key);
    if (!hit || !deps.readAsTenant || Date.now() - hit.cachedAt > WARM_MS) return null;
    // Checked within the last second: trusted as is (a change made on another node shows within 1 s).
    if (Date.now() - hit.checkedAt < REVALIDATE_MS) return { warm: true, inUse: { row: hit.row, secrets: hit.secrets } };
    const [state] = await deps.readAsTenant<{ id: string; updated_at: Date; status: ConnectionRow['status']; is_active: boolean; token_expires_at: Date | null }>(
      p.tenantId,
      `select id, updated_at, status, is_active, token_expires_at from connections where provider = ${literal(provider.id)} and label = ${literal(label)}`,
    );
    if (!state || state.id !== hit.row.id || state.updated_at.getTime() !== hit.row.updated_at.getTime() || !state.is_active) {
      warm.delete(key);
      return null;
    }
    hit.checkedAt = Date.now();
    hit.row = { ...hit.row, status: state.status, token_expires_at: state.token_expires_at };
    return { warm: true, inUse: { row: hit.row, secrets: hit.secrets } };
  }

  async function coldRead(p: TenantPrincipal, provider: Provider, label: string, action: string) {
    const inUse = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await repo.byProviderLabel(tx, provider.id, label);
      if (!row) {
        throw new AppError('NOT_FOUND', `No ${provider.displayName} connection${label === 'default' ? '' : ` labelled '${label}'`} for this organization`, {
          actions: [{ label: `Connect ${provider.displayName}`, url: `/admin/integrations?connect=${provider.id}` }],
        });
      }
      if (!row.is_active) throw new AppError('INTEGRATION_UNAVAILABLE', `The ${provider.displayName} connection is disabled`);
      const secrets = await readSecrets(tx, row);
      await recordUse(tx, p, row, provider, label, action);
      return { row, secrets };
    });
    return { warm: false, inUse };
  }

  /** `last_used` at most once a minute, the audit entry at most once an hour (both also deduplicated in SQL). */
  async function recordUse(tx: TenantTx, p: TenantPrincipal, row: ConnectionRow, provider: Provider, label: string, action: string) {
    noted.set(`${p.actor.id}\u0000${row.id}`, deps.clock().getTime());
    await repo.touchLastUsed(tx, row.id, deps.clock());
    await audit.recordAtMostEvery(3_600_000, p, { action, entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label } }, tx);
  }
  async function noteUse(p: TenantPrincipal, row: ConnectionRow, provider: Provider, label: string, action: string) {
    const last = noted.get(`${p.actor.id}\u0000${row.id}`) ?? 0;
    if (deps.clock().getTime() - last < 60_000) return;
    await tenancy.withTenant(p.tenantId, (tx) => recordUse(tx, p, row, provider, label, action));
  }

  /** After the provider refused the token (401): one forced refresh, shared with other nodes. */
  const forceRefresh = (tenantId: string, current: InUse) => (deps.fresh ? deps.fresh(tenantId, current, { force: true }) : Promise.resolve(current));

  /** The proxy's breaker opened (`degraded`) or closed (`active`) for this connection. */
  const setHealth = (tenantId: string, id: string, healthy: boolean) =>
    tenancy.withTenant(tenantId, (tx) => repo.setHealth(tx, id, healthy ? 'active' : 'degraded', healthy ? 'recovered' : 'degraded'));

  return { create, list, get, reveal, update, remove, testConnection, testSaved, readForMachine, forUse, forceRefresh, setHealth };
}
export type ConnectionsService = ReturnType<typeof createConnectionsService>;
