import { AuditEntrySchema, pageQuery, pagedEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import { AuditFilterQuery } from './audit.filters.js';
import { type AuditService, EXPORT_MAX_ROWS } from './audit.service.js';

export function auditRoutes(app: FastifyInstance, { audit }: { audit: AuditService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/audit-logs', {
    schema: {
      tags: ['audit'],
      summary: "The organization's audit log, newest first, filtered by action, actor, entity, outcome and time (owner, admin; API keys need 'audit:read')",
      querystring: pageQuery(50).extend(AuditFilterQuery.shape),
      response: { 200: pagedEnvelope(AuditEntrySchema) },
    },
  }, async (req) => {
    const { items, pagination } = await audit.list(principalOf(req).tenantId, req.query);
    return page(items, pagination);
  });

  r.get('/api/audit-logs/export.csv', {
    schema: {
      tags: ['audit'],
      summary: `The filtered audit log as CSV, newest first, at most ${EXPORT_MAX_ROWS} entries (X-Keyhold-Truncated: true when older ones were left out)`,
      querystring: AuditFilterQuery,
      // Sent as text/csv (Fastify serialises only JSON answers); the schema documents the body.
      response: { 200: z.string().describe('text/csv with a header row; cells a spreadsheet would run as formulas start with an apostrophe') },
    },
  }, async (req, reply) => {
    const { csv, truncated } = await audit.exportCsv(principalOf(req).tenantId, req.query);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="keyhold-audit-log.csv"')
      .header('cache-control', 'no-store')
      .header('x-keyhold-truncated', String(truncated))
      .send(csv);
  });
}
