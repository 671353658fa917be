import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import type { Registry } from 'prom-client';
import type { MetricsAccess } from '../config.js';
import { AppError } from '../errors.js';

export type MetricsPluginOptions = { registry: Registry; access: MetricsAccess };

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Equal digests have equal lengths, so the comparison takes the same time whatever was sent. */
const sameToken = (sent: string, expected: string) => timingSafeEqual(digest(sent), digest(expected));

const isLoopback = (ip: string) => ipaddr.isValid(ip) && ipaddr.process(ip).range() === 'loopback';

/**
 * Prometheus scrape at `/metrics`, for the operator, outside the API (no tenant or admin token
 * opens it, and it is not in the API reference). Who may read it is `KEYHOLD_METRICS`: an
 * operator bearer token, loopback callers only, anyone, or nobody (not served at all).
 */
export async function metricsPlugin(app: FastifyInstance, { registry, access }: MetricsPluginOptions) {
  if (access.mode === 'off') return;
  const guard = async (req: FastifyRequest) => {
    // The socket's peer, not req.ip: a forwarded-for header (KEYHOLD_TRUST_PROXY) must not make a caller local.
    if (access.mode === 'loopback' && !isLoopback(req.socket.remoteAddress ?? '')) {
      throw new AppError('FORBIDDEN', 'Metrics are served to this machine only; set KEYHOLD_METRICS_TOKEN to scrape from elsewhere');
    }
    if (access.mode !== 'token') return;
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match || !sameToken(match[1]!, access.token.reveal())) {
      throw new AppError('UNAUTHENTICATED', 'Send the metrics token: Authorization: Bearer <KEYHOLD_METRICS_TOKEN>', { headers: { 'www-authenticate': 'Bearer realm="keyhold-metrics"' } });
    }
  };
  app.get('/metrics', { schema: { hide: true }, onRequest: guard }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    reply.header('cache-control', 'no-store');
    return registry.metrics();
  });
}
