import { z } from 'zod';
import { TenantStatusSchema } from './identity.js';

/** A tenant as platform admins see it (GET /api/admin/tenants[/{id}]). */
export const PlatformTenantSchema = z.object({
  id: z.string().uuid(),
  slug: z.string(),
  name: z.string(),
  plan: z.string(),
  status: TenantStatusSchema,
  trialEndsAt: z.string().nullable(),
  maxUsers: z.number().int(),
  maxConnections: z.number().int(),
  features: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type PlatformTenant = z.infer<typeof PlatformTenantSchema>;

/** GET /api/admin/tenants/{id}/usage: what the tenant uses against its quotas. */
export const TenantUsageSchema = z.object({
  users: z.number().int().describe('Active users'),
  maxUsers: z.number().int(),
  connections: z.number().int(),
  maxConnections: z.number().int(),
  connectionsByStatus: z.record(z.string(), z.number().int()),
  apiKeys: z.number().int().describe('API keys not revoked'),
});
export type TenantUsage = z.infer<typeof TenantUsageSchema>;

const Counts = z.record(z.string(), z.number().int());

/** GET /api/admin/health: counts across every tenant, and ids (never a tenant's secret or config). */
export const PlatformHealthSchema = z.object({
  asOf: z.string(),
  tenants: Counts.describe('Tenants (not deleted) by status'),
  connections: z.object({ total: z.number().int(), byStatus: Counts }),
  needsReauth: z.number().int(),
  tokens: z.object({
    expired: z.number().int().describe('Active connections whose access token expired and was not renewed'),
    expiringSoon: z.number().int(),
    expiringWithinMinutes: z.number().int(),
  }),
  failingSyncs: z.number().int().describe("Connections' syncs whose latest finished run failed"),
  webhookQuarantine: z.number().int().describe('Inbound webhooks for accounts no organization holds'),
  keys: z.object({
    currentMasterKey: z.string().describe('The master key id that wraps new data keys'),
    configuredMasterKeys: z.array(z.string()),
    dataKeys: z.array(z.object({ masterKey: z.string(), version: z.number().int(), state: z.string(), count: z.number().int() })),
    awaitingRewrap: z.number().int().describe('Active data keys still wrapped by an older master key'),
  }),
  attention: z.array(z.object({
    tenantId: z.string().uuid(), slug: z.string().nullable(), name: z.string().nullable(),
    needsReauth: z.number().int(), tokensExpired: z.number().int(), failingSyncs: z.number().int(),
  })).describe('Tenants with something to fix, worst first (at most 20)'),
});
export type PlatformHealth = z.infer<typeof PlatformHealthSchema>;

export const PlatformAdminSchema = z.object({
  id: z.string().uuid(), email: z.string(), role: z.string(), isActive: z.boolean(), mfaEnabled: z.boolean(),
  lastLoginAt: z.string().nullable(), createdAt: z.string(),
});
export type PlatformAdmin = z.infer<typeof PlatformAdminSchema>;
