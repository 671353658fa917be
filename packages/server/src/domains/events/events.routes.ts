import { EVENT_TYPES, EventSchema, pageQuery, pagedEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { EventsService } from './events.service.js';

export const EventsQuery = pageQuery(50).extend({
  type: z.enum(EVENT_TYPES).optional().describe('Only events of this type'),
  since: z.iso.datetime({ offset: true }).optional().describe('Only events created at or after this time (ISO 8601)'),
  connection: z.string().uuid().optional().describe("Only this connection's events (a connection's timeline)"),
});

export function eventsRoutes(app: FastifyInstance, { events }: { events: EventsService }) {
  app.withTypeProvider<ZodTypeProvider>().get('/api/events', {
    schema: {
      tags: ['events'],
      summary: "The organization's events (connection changes), newest first (owner, admin; API keys need 'events:read')",
      querystring: EventsQuery,
      response: { 200: pagedEnvelope(EventSchema) },
    },
  }, async (req) => {
    const { since, connection, ...rest } = req.query;
    const { items, pagination } = await events.list(principalOf(req), { ...rest, ...(since ? { since: new Date(since) } : {}), ...(connection ? { connectionId: connection } : {}) });
    return page(items, pagination);
  });
}
