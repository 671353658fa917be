import { ErrorEnvelopeSchema, HealthSchema, ReadinessSchema, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ok } from './envelope.js';

export type HealthDeps = {
  version: string;
  startedAt: Date;
  /** Migrations this build ships; readiness needs all of them applied. */
  expectedMigrations: string[];
  db: { ping(): Promise<void>; appliedMigrations(): Promise<string[]> };
  /** True once the node is shutting down: readiness fails so load balancers stop sending it requests. */
  draining?: () => boolean;
};

export function healthRoutes(app: FastifyInstance, deps: HealthDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/health', {
    schema: { tags: ['system'], summary: 'Liveness: the process is up', response: { 200: successEnvelope(HealthSchema) } },
  }, async () => ok({ status: 'ok' as const, version: deps.version, uptimeSeconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000) }));

  r.get('/ready', {
    schema: {
      tags: ['system'],
      summary: 'Readiness: the database is reachable, every migration is applied and the node is not shutting down',
      response: { 200: successEnvelope(ReadinessSchema), 503: ErrorEnvelopeSchema },
    },
  }, async (req, reply) => {
    if (deps.draining?.()) {
      return reply.code(503).send({ success: false, code: 'NOT_READY', error: 'Shutting down', requestId: req.id });
    }
    let applied: string[];
    try {
      await deps.db.ping();
      applied = await deps.db.appliedMigrations();
    } catch (err) {
      req.log.warn({ err: { message: (err as Error).message } }, 'readiness: database unreachable');
      return reply.code(503).send({ success: false, code: 'NOT_READY', error: 'The database is unreachable', requestId: req.id });
    }
    const done = new Set(applied);
    const pending = deps.expectedMigrations.filter((m) => !done.has(m));
    if (pending.length > 0) {
      return reply.code(503).send({ success: false, code: 'NOT_READY', error: `Migrations pending: ${pending.join(', ')}`, requestId: req.id });
    }
    return ok({
      status: 'ready' as const,
      checks: { database: 'ok' as const, migrations: { applied: applied.length, expected: deps.expectedMigrations.length, pending } },
    });
  });
}
