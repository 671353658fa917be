import { pageQuery, pagedEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { AuditService } from './audit.service.js';

const AuditEntrySchema = z.object({
  id: z.string().uuid(),
  seq: z.number().int(),
  action: z.string(),
  actor: z.object({ type: z.string(), id: z.string().nullable() }),
  entity: z.object({ type: z.string(), id: z.string().nullable() }).nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

export function auditRoutes(app: FastifyInstance, { audit }: { audit: AuditService }) {
  app.withTypeProvider<ZodTypeProvider>().get('/api/audit-logs', {
    schema: {
      tags: ['audit'],
      summary: "The organization's audit log, newest first (owner, admin; API keys need 'audit:read')",
      querystring: pageQuery(50).extend({ action: z.string().max(100).optional() }),
      response: { 200: pagedEnvelope(AuditEntrySchema) },
    },
  }, async (req) => {
    const { items, pagination } = await audit.list(principalOf(req).tenantId, req.query);
    return page(items, pagination);
  });
}
