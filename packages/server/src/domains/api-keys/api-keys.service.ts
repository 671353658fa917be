import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import { boundedMap } from '../../platform/bounded-map.js';

const VERIFIED_MS = 10_000;
import type { PrincipalCtx, RequestMeta } from '../../platform/context.js';
import { type Tenancy, isUuid } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { MfaService } from '../identity/mfa.service.js';
import type { PlatformRole } from '../../platform/db/schema.js';
import { assertPermission } from '../platform-admins/permissions.js';
import { mayGrant } from '../identity/access.js';
import { API_KEY_SCOPES, ROLE_RANK, type TenantPrincipal, assertRole } from '../identity/principal.js';
import { newOpaqueToken, sha256 } from '../identity/tokens.js';
import { type TenantsService, assertTenantOpen } from '../tenants/tenants.service.js';
import type { ApiKeysRepo } from './api-keys.repo.js';

type Verified = { tenantId: string; keyId: string; role: TenantPrincipal['role']; scopes: TenantPrincipal['scopes']; at: number };

export const API_KEY_PREFIX = 'kh_';

/** Machine reads with OAuth refresh tokens are for the platform's own back end only. */
export const PLATFORM_ONLY_SCOPES: readonly string[] = ['credentials:read:refresh'];
const ScopeList = z.array(z.enum(API_KEY_SCOPES)).min(1).transform((s) => [...new Set(s)]);
export const CreateApiKeyInput = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: ScopeList.refine((s) => !s.some((x) => PLATFORM_ONLY_SCOPES.includes(x)), `only platform keys can hold ${PLATFORM_ONLY_SCOPES.join(', ')}`),
  role: z.enum(['admin', 'member', 'viewer']).default('member'),
});
/** Platform keys act in every tenant; managing a tenant's people and keys is the tenant's own business. */
const TENANT_MANAGEMENT_SCOPES: readonly string[] = ['users:read', 'users:write', 'api_keys:read', 'api_keys:write'];
export const CreatePlatformApiKeyInput = z.object({ name: CreateApiKeyInput.shape.name, scopes: ScopeList }).refine(
  (v) => !v.scopes.some((s) => TENANT_MANAGEMENT_SCOPES.includes(s)),
  { message: `platform keys cannot hold ${TENANT_MANAGEMENT_SCOPES.join(', ')}`, path: ['scopes'] },
);
/** A key holding it reads plaintext secrets: creating one is as sensitive as a reveal. */
const READS_SECRETS = 'credentials:read';

export type ApiKeyView = { id: string; name: string; prefix: string; scopes: string[]; role: string | null; createdAt: string; lastUsedAt: string | null };

export type ApiKeysDeps = {
  repo: ApiKeysRepo;
  tenancy: Tenancy;
  tenants: Pick<TenantsService, 'get' | 'idBySlug'>;
  audit: Pick<AuditService, 'record'>;
  mfa: Pick<MfaService, 'verifyStepUp'>;
  clock: Clock;
};

const invalidKey = () => new AppError('TOKEN_INVALID', 'The API key is not valid');

function view(row: { id: string; name: string; prefix: string; scopes: string[]; role?: string; created_at: Date; last_used_at: Date | null }): ApiKeyView {
  return { id: row.id, name: row.name, prefix: row.prefix, scopes: row.scopes, role: row.role ?? null, createdAt: row.created_at.toISOString(), lastUsedAt: row.last_used_at?.toISOString() ?? null };
}

export function createApiKeysService(deps: ApiKeysDeps) {
  const { repo, tenancy, audit, clock } = deps;

  /**
   * A tenant key, shown once. Its creator (an admin, or a key with 'api_keys:write') can never make
   * it stronger than itself: at most the creator's role, and a key's scopes within its own.
   */
  async function create(p: TenantPrincipal, input: z.input<typeof CreateApiKeyInput>, opts: { mfaCode?: string } = {}) {
    assertRole(p, 'admin');
    const data = CreateApiKeyInput.parse(input);
    if (ROLE_RANK[data.role] > ROLE_RANK[p.role]) assertRole(p, data.role);
    if (!mayGrant(p, { role: data.role, scopes: data.scopes })) {
      throw new AppError('FORBIDDEN', 'An API key can only create keys with scopes it holds itself');
    }
    // A person who could not reveal a secret must not be able to mint a key that reads them all.
    if (!p.scopes && data.scopes.includes(READS_SECRETS)) {
      if (p.role !== 'owner') throw new AppError('FORBIDDEN', `Only the owner creates keys with '${READS_SECRETS}': they read plaintext secrets`);
      await deps.mfa.verifyStepUp(p, opts.mfaCode);
    }
    const parentKey = p.actor.type === 'api_key' && p.actor.id && isUuid(p.actor.id) ? p.actor.id : null;
    const key = newOpaqueToken(API_KEY_PREFIX);
    const row = await tenancy.withTenant(p.tenantId, async (tx) => {
      const inserted = await repo.insert(tx, {
        tenant_id: p.tenantId,
        name: data.name,
        prefix: key.token.slice(0, 10),
        key_hash: key.hash,
        role: data.role,
        scopes: data.scopes,
        created_by: p.userId ?? null,
        created_by_key: parentKey,
      });
      await audit.record(p, { action: 'api_key.create', entity: { type: 'api_key', id: inserted.id }, metadata: { name: data.name, scopes: data.scopes, role: data.role } }, tx);
      return inserted;
    });
    return { ...view(row), key: key.token };
  }

  async function list(p: TenantPrincipal) {
    assertRole(p, 'admin');
    return (await tenancy.withTenant(p.tenantId, (tx) => repo.list(tx))).map(view);
  }

  async function revoke(p: TenantPrincipal, id: string) {
    assertRole(p, 'admin');
    await tenancy.withTenant(p.tenantId, async (tx) => {
      const revoked = await repo.revokeWithDescendants(tx, p.tenantId, id, clock());
      if (revoked === 0) throw new AppError('NOT_FOUND', 'API key not found');
      await audit.record(p, { action: 'api_key.revoke', entity: { type: 'api_key', id }, metadata: { keysCreatedFromIt: revoked - 1 } }, tx);
    });
    // A verification still in flight began before the revocation: neither it nor its answer is reused.
    revocations++;
    verifying.clear();
    verified.clear();
  }

  /**
   * Tenant keys verified in the last few seconds, by key hash (+ tenant header): a busy
   * integration does not pay a transaction per request. A revocation here takes effect at once;
   * on other nodes, and for a tenant's suspension, within VERIFIED_MS.
   */
  const verified = boundedMap<string, Verified>(10_000);
  const verifying = new Map<string, Promise<Verified | null>>();
  let revocations = 0;

  /**
   * A tenant key acts in its own tenant; a platform key acts in the tenant named by
   * `X-Keyhold-Tenant` (id or slug), and each such use is audited in that tenant's chain.
   */
  async function authenticate(token: string, meta: RequestMeta & { method?: string; url?: string }, tenantHeader?: string): Promise<TenantPrincipal> {
    if (!token.startsWith(API_KEY_PREFIX) || token.length > 200) throw invalidKey();
    const hash = sha256(token);
    const now = clock();
    const cacheKey = `${hash}\u0000${tenantHeader ?? ''}`;
    const hit = verified.get(cacheKey);
    if (hit && Date.now() - hit.at < VERIFIED_MS) return { ...meta, tenantId: hit.tenantId, actor: { type: 'api_key', id: hit.keyId }, role: hit.role, scopes: hit.scopes };
    // Parallel calls with the same key share one verification (a busy client's burst is one transaction, not one each).
    let pending = verifying.get(cacheKey);
    if (!pending) {
      pending = verifyTenantKey(hash, tenantHeader, now, cacheKey).finally(() => verifying.get(cacheKey) === pending && verifying.delete(cacheKey));
      verifying.set(cacheKey, pending);
    }
    const v = await pending;
    if (v) return { ...meta, tenantId: v.tenantId, actor: { type: 'api_key', id: v.keyId }, role: v.role, scopes: v.scopes };
    const platformKey = await repo.platformByHash(hash);
    if (!platformKey || platformKey.revoked_at) throw invalidKey();
    if (!tenantHeader) throw new AppError('VALIDATION_FAILED', 'headers.x-keyhold-tenant: a platform API key must name the tenant it acts for');
    const target = isUuid(tenantHeader) ? tenantHeader : await deps.tenants.idBySlug(tenantHeader);
    if (!target) throw new AppError('NOT_FOUND', 'Tenant not found');
    await assertTenantUsable(target);
    await repo.touchPlatform(platformKey.id, now);
    const principal: TenantPrincipal = {
      ...meta,
      tenantId: target,
      actor: { type: 'api_key', id: `platform:${platformKey.id}` },
      role: 'admin',
      scopes: platformKey.scopes as TenantPrincipal['scopes'],
    };
    await audit.record(principal, { action: 'platform_api_key.use', entity: { type: 'platform_api_key', id: platformKey.id }, metadata: { method: meta.method, path: meta.url?.split('?')[0] } });
    return principal;
  }

  /** A tenant key's verification (null: not a tenant key), cached for VERIFIED_MS when it passes. */
  async function verifyTenantKey(hash: string, tenantHeader: string | undefined, now: Date, cacheKey: string): Promise<Verified | null> {
    const generation = revocations;
    const tenantId = await repo.tenantOf(hash);
    if (!tenantId) return null;
    const key = await tenancy.withTenant(tenantId, async (tx) => {
      const row = await repo.byHash(tx, hash);
      if (row && !row.revoked_at) await repo.touch(tx, row.id, now);
      return row;
    });
    if (!key || key.revoked_at) throw invalidKey();
    // A tenant key acts only for its own tenant: naming another one is a mistake worth a loud no,
    // not a silent answer about the key's own tenant.
    if (tenantHeader && tenantHeader !== tenantId && (await deps.tenants.idBySlug(tenantHeader)) !== tenantId) {
      throw new AppError('FORBIDDEN', 'This API key belongs to another organization than x-keyhold-tenant names');
    }
    await assertTenantUsable(tenantId);
    const scopes = key.scopes as TenantPrincipal['scopes'];
    const entry = { tenantId, keyId: key.id, role: key.role, scopes, at: Date.now() };
    if (generation === revocations) verified.set(cacheKey, entry);
    return entry;
  }

  async function assertTenantUsable(tenantId: string) {
    const tenant = await deps.tenants.get(tenantId).catch(() => undefined);
    if (!tenant) throw new AppError('NOT_FOUND', 'Tenant not found');
    assertTenantOpen(tenant.status);
  }

  /** Platform keys: created by platform admins (platform-scope audit). */
  async function createPlatformKey(ctx: PrincipalCtx & { role?: PlatformRole }, input: z.input<typeof CreatePlatformApiKeyInput>) {
    const data = CreatePlatformApiKeyInput.parse(input);
    // Such a key reads every tenant's plaintext secrets: only a super admin makes one.
    if (ctx.actor.type === 'platform_admin' && data.scopes.some((s) => s.startsWith(READS_SECRETS))) assertPermission(ctx.role ?? 'SALES', 'api_keys:read_secrets');
    const key = newOpaqueToken(API_KEY_PREFIX);
    const row = await repo.insertPlatform({ name: data.name, prefix: key.token.slice(0, 10), key_hash: key.hash, scopes: data.scopes, created_by: ctx.actor.id });
    await audit.record({ ...ctx, tenantId: null }, { action: 'platform_api_key.create', entity: { type: 'platform_api_key', id: row.id }, metadata: { name: data.name, scopes: data.scopes } });
    return { ...view(row), key: key.token };
  }

  const listPlatformKeys = async () => (await repo.listPlatform()).map(view);

  async function revokePlatformKey(ctx: PrincipalCtx, id: string) {
    if (!(await repo.revokePlatform(id, clock()))) throw new AppError('NOT_FOUND', 'API key not found');
    await audit.record({ ...ctx, tenantId: null }, { action: 'platform_api_key.revoke', entity: { type: 'platform_api_key', id } });
  }

  return { create, list, revoke, authenticate, createPlatformKey, listPlatformKeys, revokePlatformKey };
}
export type ApiKeysService = ReturnType<typeof createApiKeysService>;
