import { PlatformAdminSchema, PlatformHealthSchema, TenantUsageSchema, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok } from '../../platform/http/envelope.js';
import type { TenantsService } from '../tenants/tenants.service.js';
import type { PlatformHealthService } from './platform-health.service.js';

export function platformHealthRoutes(app: FastifyInstance, { platformHealth, tenants }: { platformHealth: PlatformHealthService; tenants: Pick<TenantsService, 'usage'> }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin'];
  r.get('/api/admin/health', {
    schema: { tags, summary: 'Connections by status, tokens, failing syncs, webhook quarantine and key status across every tenant (counts and ids only)', response: { 200: successEnvelope(PlatformHealthSchema) } },
  }, async () => ok(await platformHealth.health()));
  r.get('/api/admin/admins', {
    schema: { tags, summary: 'Platform admins (role, MFA, last sign-in)', response: { 200: successEnvelope(z.array(PlatformAdminSchema)) } },
  }, async () => ok(await platformHealth.admins()));
  r.get('/api/admin/tenants/:id/usage', {
    schema: { tags, summary: "Users, API keys and connections against the tenant's quotas", params: z.object({ id: z.string().uuid() }), response: { 200: successEnvelope(TenantUsageSchema) } },
  }, async (req) => ok(await tenants.usage(req.params.id)));
}
