import { WorkingCapitalSchema, WorkingCapitalSnapshotSchema, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { WorkingCapitalService } from './working-capital.service.js';

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'must be a real date (YYYY-MM-DD)');

export function workingCapitalRoutes(app: FastifyInstance, { workingCapital }: { workingCapital: WorkingCapitalService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/working-capital/current', {
    schema: {
      tags: ['working-capital'],
      summary: "Receivables, payables, inventory value and working capital from the tenant's synced accounting and stock records; 503 INTEGRATION_NOT_CONFIGURED without an accounting connection (member+; API keys need 'records:read')",
      querystring: z.strictObject({ connection: z.string().uuid().optional().describe('The accounting connection to use (default: the first Xero connection, else the first QuickBooks one)') }),
      response: { 200: successEnvelope(WorkingCapitalSchema) },
    },
  }, async (req) => ok(await workingCapital.current(principalOf(req), req.query.connection ? { connectionId: req.query.connection } : {})));

  r.get('/api/working-capital/history', {
    schema: {
      tags: ['working-capital'],
      summary: "One accounting connection's daily working capital snapshots from `from` to `to` (UTC days, inclusive; default the last 30 days; at most 366) (member+; API keys need 'records:read')",
      querystring: z.strictObject({
        from: Day.optional(), to: Day.optional(),
        connection: z.string().uuid().optional().describe('The accounting connection (default: the first Xero connection, else the first QuickBooks one)'),
      }),
      response: { 200: successEnvelope(z.array(WorkingCapitalSnapshotSchema)) },
    },
  }, async (req) => ok(await workingCapital.history(principalOf(req), {
    ...(req.query.from ? { from: req.query.from } : {}), ...(req.query.to ? { to: req.query.to } : {}), ...(req.query.connection ? { connectionId: req.query.connection } : {}),
  })));
}
