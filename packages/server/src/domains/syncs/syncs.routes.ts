import {
  ChangeCursorSchema, RecordsPageSchema, SyncNameSchema, SyncRunAllSchema, SyncRunRequestedSchema, SyncRunSchema, SyncScheduleBodySchema, SyncStateSchema,
  pageQuery, pagedEnvelope, successEnvelope,
} from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok, page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { SyncsService } from './syncs.service.js';

const RunParams = z.object({ connectionId: z.string().uuid(), sync: SyncNameSchema });

export function syncsRoutes(app: FastifyInstance, { syncs }: { syncs: SyncsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/records/:model', {
    schema: {
      tags: ['syncs'],
      summary: "Change feed of one synced model: records changed after `cursor`, oldest change first, deletions included (member+; API keys need 'records:read')",
      params: z.object({ model: SyncNameSchema }),
      querystring: z.object({
        connection: z.string().uuid().optional().describe('Only records of this connection'),
        cursor: ChangeCursorSchema.default('0').describe("The previous page's `cursor.next` (0: from the beginning)"),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: { 200: RecordsPageSchema },
    },
  }, async (req) => {
    const { items, next, hasMore } = await syncs.records(principalOf(req), req.params.model, {
      cursor: req.query.cursor, limit: req.query.limit, ...(req.query.connection ? { connectionId: req.query.connection } : {}),
    });
    return { success: true as const, data: items, cursor: { next, hasMore } };
  });

  r.post('/api/syncs/:connectionId/:sync/run', {
    schema: {
      tags: ['syncs'],
      summary: "Queues a run of one sync of a connection: incremental when it can be, `mode=full` to read everything (admin+ with X-MFA-Code; API keys need 'syncs:run')",
      params: RunParams,
      querystring: z.object({ mode: z.enum(['full', 'incremental']).optional() }),
      response: { 202: successEnvelope(SyncRunRequestedSchema) },
    },
  }, async (req, reply) => reply.code(202).send(ok(await syncs.request(principalOf(req), req.params.connectionId, req.params.sync, 'manual', req.query.mode))));

  r.post('/api/syncs/:connectionId/:sync/reset', {
    schema: {
      tags: ['syncs'],
      summary: "Queues a backfill from scratch: a full run that rewrites every record into the change feed (admin+ with X-MFA-Code; API keys need 'syncs:run')",
      params: RunParams,
      response: { 202: successEnvelope(SyncRunRequestedSchema) },
    },
  }, async (req, reply) => reply.code(202).send(ok(await syncs.request(principalOf(req), req.params.connectionId, req.params.sync, 'reset'))));

  r.get('/api/syncs', {
    schema: {
      tags: ['syncs'],
      summary: "State of every sync of every connection, a page at a time: schedule, pause, last run, next run, last success (member+; API keys need 'records:read')",
      querystring: pageQuery(100).extend({ connection: z.string().uuid().optional().describe("Only this connection's syncs") }),
      response: { 200: pagedEnvelope(SyncStateSchema) },
    },
  }, async (req) => {
    const { connection, ...rest } = req.query;
    const { items, pagination } = await syncs.state(principalOf(req), { ...rest, ...(connection ? { connectionId: connection } : {}) });
    return page(items, pagination);
  });

  r.put('/api/syncs/:connectionId/:sync/schedule', {
    schema: {
      tags: ['syncs'],
      summary: "Sets how often a sync of a connection runs (null: its default) and pauses or resumes it (admin+; API keys need 'syncs:run')",
      params: RunParams,
      body: SyncScheduleBodySchema,
      response: { 200: successEnvelope(SyncStateSchema) },
    },
  }, async (req) => ok(await syncs.setSchedule(principalOf(req), req.params.connectionId, req.params.sync, req.body)));

  r.post('/api/syncs/run-all', {
    schema: {
      tags: ['syncs'],
      summary: "Queues a run of every sync of every usable connection of the organization (admin+ with X-MFA-Code; API keys need 'syncs:run')",
      response: { 202: successEnvelope(SyncRunAllSchema) },
    },
  }, async (req, reply) => reply.code(202).send(ok(await syncs.runAll(principalOf(req)))));

  r.get('/api/syncs/runs', {
    schema: {
      tags: ['syncs'],
      summary: "Sync runs, newest first (member+; API keys need 'records:read')",
      querystring: pageQuery(50).extend({ connection: z.string().uuid().optional(), sync: SyncNameSchema.optional() }),
      response: { 200: pagedEnvelope(SyncRunSchema) },
    },
  }, async (req) => {
    const { connection, sync, ...rest } = req.query;
    const { items, pagination } = await syncs.runs(principalOf(req), { ...rest, ...(connection ? { connectionId: connection } : {}), ...(sync ? { sync } : {}) });
    return page(items, pagination);
  });
}
