import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { PrincipalCtx } from '../../platform/context.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { TENANT_PLANS, TENANT_STATUSES, type TenantStatus } from '../../platform/db/schema.js';
import { paginate } from '@keyhold/contract';
import { type Tenancy, type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { TenantRow, TenantsRepo } from './tenants.repo.js';

export const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const CreateTenantInput = z.object({
  slug: z.string().trim().toLowerCase().regex(SLUG_PATTERN, 'lowercase letters, digits and inner hyphens, 1–63 characters'),
  name: z.string().trim().min(1).max(200),
  plan: z.enum(TENANT_PLANS).default('starter'),
  /** Default: `trial`, or `active` when trials are off. */
  status: z.enum(TENANT_STATUSES).optional(),
  maxUsers: z.number().int().min(1).max(100_000).default(5),
  maxConnections: z.number().int().min(1).max(100_000).default(10),
  features: z.record(z.string(), z.unknown()).default({}),
  /** The identity provider's id for this organisation (docs/identity-provider.md). */
  idpOrgId: z.string().trim().min(1).max(255).nullable().default(null),
});
export type CreateTenantInput = z.input<typeof CreateTenantInput>;

export const UpdateTenantInput = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  plan: z.enum(TENANT_PLANS).optional(),
  maxUsers: z.number().int().min(1).max(100_000).optional(),
  maxConnections: z.number().int().min(1).max(100_000).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  trialEndsAt: z.coerce.date().nullable().optional(),
  idpOrgId: z.string().trim().min(1).max(255).nullable().optional(),
});

export type Tenant = {
  id: string;
  slug: string;
  name: string;
  plan: TenantRow['plan'];
  status: TenantRow['status'];
  trialEndsAt: string | null;
  maxUsers: number;
  maxConnections: number;
  features: Record<string, unknown>;
  idpOrgId: string | null;
  createdAt: string;
  updatedAt: string;
};

export type TenantsDeps = {
  repo: TenantsRepo;
  tenancy: Tenancy;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  /** Length of a new tenant's trial (KEYHOLD_TRIAL_DAYS); 0: new tenants start active. */
  trialDays?: number;
};

export function createTenantsService(deps: TenantsDeps) {
  const trialDays = deps.trialDays ?? 14;
  /**
   * Inserts a tenant whose id is the tenant of `tx` (so RLS admits the row) and audits it, inside
   * the caller's transaction: sign-up creates the tenant and its owner atomically.
   */
  async function createInTx(tx: TenantTx, ctx: Omit<PrincipalCtx, 'tenantId'>, input: CreateTenantInput): Promise<Tenant> {
    const data = CreateTenantInput.parse(input);
    const id = scopeTenantId(tx)!;
    const now = deps.clock();
    const status = data.status ?? (trialDays > 0 ? 'trial' : 'active');
    // A trial needs an end, or `tenants.expire-trials` would never end it.
    if (status === 'trial' && trialDays === 0) throw new AppError('VALIDATION_FAILED', 'status: trials are off on this Keyhold (KEYHOLD_TRIAL_DAYS=0)');
    const trialEndsAt = status === 'trial' ? new Date(now.getTime() + trialDays * 86_400_000) : null;
    const row = await deps.repo.insert(tx, {
      id,
      slug: data.slug,
      name: data.name,
      plan: data.plan,
      status,
      trial_ends_at: trialEndsAt,
      max_users: data.maxUsers,
      max_connections: data.maxConnections,
      features: JSON.stringify(data.features),
      idp_org_id: data.idpOrgId,
      created_at: now,
      updated_at: now,
    });
    await deps.audit.record(
      { ...ctx, tenantId: id },
      { action: 'tenant.create', entity: { type: 'tenant', id }, metadata: { slug: data.slug, plan: data.plan, status } },
      tx,
    );
    return toTenant(row);
  }

  /** Creates a tenant; a trial ends `trialDays` from now. */
  async function create(ctx: Omit<PrincipalCtx, 'tenantId'>, input: CreateTenantInput): Promise<Tenant> {
    const slug = CreateTenantInput.parse(input).slug;
    return withSlugConflict(slug, () => deps.tenancy.withTenant(randomUUID(), (tx) => createInTx(tx, ctx, input)));
  }

  async function get(tenantId: string): Promise<Tenant> {
    const row = await deps.tenancy.withTenant(tenantId, (tx) => deps.repo.current(tx));
    if (!row) throw notFound('Tenant');
    return toTenant(row);
  }

  /** Users, API keys and connections (by status) against the tenant's quotas; 404 for no such tenant. */
  async function usage(tenantId: string) {
    return deps.tenancy.withTenant(tenantId, async (tx) => {
      const row = await deps.repo.current(tx);
      if (!row) throw notFound('Tenant');
      const u = await deps.repo.usage(tx, tenantId);
      const connections = Object.values(u.connectionsByStatus).reduce((a, b) => a + b, 0);
      return { ...u, connections, maxUsers: row.max_users, maxConnections: row.max_connections };
    });
  }

  /** Resolves a slug to a tenant id for sign-in and CLI commands; undefined when none. */
  const idBySlug = (slug: string) => deps.repo.idBySlug(slug.trim().toLowerCase());

  async function search(f: { status?: string; plan?: string; search?: string; page: number; limit: number }) {
    // ILIKE wildcards in the search text are matched literally.
    const search = f.search?.replace(/[\\%_]/g, (c) => `\\${c}`);
    const { ids, total } = await deps.repo.searchIds({ ...f, ...(search ? { search } : {}), offset: (f.page - 1) * f.limit });
    const items = await Promise.all(ids.map((id) => get(id)));
    return { items, pagination: paginate(f.page, f.limit, total) };
  }

  async function update(ctx: Omit<PrincipalCtx, 'tenantId'>, tenantId: string, input: z.input<typeof UpdateTenantInput>): Promise<Tenant> {
    const data = UpdateTenantInput.parse(input);
    return withSlugConflict('', () => deps.tenancy.withTenant(tenantId, async (tx) => {
      const row = await deps.repo.updateCurrent(tx, {
        ...(data.name ? { name: data.name } : {}),
        ...(data.plan ? { plan: data.plan } : {}),
        ...(data.maxUsers ? { max_users: data.maxUsers } : {}),
        ...(data.maxConnections ? { max_connections: data.maxConnections } : {}),
        ...(data.features ? { features: JSON.stringify(data.features) } : {}),
        ...(data.trialEndsAt !== undefined ? { trial_ends_at: data.trialEndsAt } : {}),
        ...(data.idpOrgId !== undefined ? { idp_org_id: data.idpOrgId } : {}),
      });
      if (!row) throw notFound('Tenant');
      await deps.audit.record({ ...ctx, tenantId }, { action: 'tenant.update', entity: { type: 'tenant', id: tenantId }, metadata: { changes: data } }, tx);
      return toTenant(row);
    }));
  }

  /** Suspends, reactivates, cancels or expires a tenant; suspension takes effect on the next request. */
  async function setStatus(ctx: Omit<PrincipalCtx, 'tenantId'>, tenantId: string, status: TenantStatus, reason?: string): Promise<Tenant> {
    return deps.tenancy.withTenant(tenantId, async (tx) => {
      const before = await deps.repo.current(tx);
      if (!before) throw notFound('Tenant');
      const row = await deps.repo.updateCurrent(tx, { status, ...(status === 'cancelled' ? { deleted_at: deps.clock() } : {}) });
      const action = { suspended: 'tenant.suspend', active: 'tenant.reactivate', cancelled: 'tenant.delete', trial_expired: 'tenant.trial_expire', trial: 'tenant.update' }[status];
      await deps.audit.record({ ...ctx, tenantId }, { action, entity: { type: 'tenant', id: tenantId }, metadata: { from: before.status, to: status, ...(reason ? { reason } : {}) } }, tx);
      return toTenant(row ?? before);
    });
  }

  /** Moves every trial past its end date to `trial_expired` (the scheduled job). */
  async function expireTrials(ctx: Omit<PrincipalCtx, 'tenantId'>): Promise<string[]> {
    const ids = await deps.repo.expiredTrialIds(deps.clock());
    for (const id of ids) await setStatus(ctx, id, 'trial_expired');
    return ids;
  }

  return { create, createInTx, get, usage, idBySlug, search, update, setStatus, expireTrials };
}

export type TenantsService = ReturnType<typeof createTenantsService>;

/** Statuses in which a tenant's sessions and keys stop working. */
const LOCKED_OUT_STATUSES: ReadonlySet<string> = new Set(['suspended', 'cancelled']);

export const tenantSuspended = () => new AppError('TENANT_SUSPENDED', 'This organization is suspended; contact your administrator');

export const isLockedOut = (status: string) => LOCKED_OUT_STATUSES.has(status);

/** Throws 403 TENANT_SUSPENDED for a suspended or cancelled tenant. */
export function assertTenantOpen(status: string) {
  if (isLockedOut(status)) throw tenantSuspended();
}

/** Runs `fn`, turning a duplicate slug (or IdP organisation id) into a 409 the user can act on. */
export async function withSlugConflict<T>(slug: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err, 'tenants_slug_key')) throw new AppError('CONFLICT', `A tenant with slug '${slug}' already exists`);
    if (isUniqueViolation(err, 'tenants_idp_org_id_key')) throw new AppError('CONFLICT', 'Another tenant already has this identity provider organisation id');
    throw err;
  }
}

function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    plan: row.plan,
    status: row.status,
    trialEndsAt: row.trial_ends_at?.toISOString() ?? null,
    maxUsers: row.max_users,
    maxConnections: row.max_connections,
    features: row.features,
    idpOrgId: row.idp_org_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
