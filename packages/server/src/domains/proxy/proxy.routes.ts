import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError } from '../../platform/errors.js';
import { principalOf } from '../../platform/http/principals.js';
import { upstreamPath } from './headers.js';
import type { ProxyService } from './proxy.service.js';

/** Bodies up to this size are held in memory so a request can be retried; larger ones stream through once. */
const REPLAYABLE_BYTES = 256 * 1024;
const MAX_WAIT_MS = 30_000;

const ProviderParam = z.string().regex(/^[a-z][a-z0-9-]{1,40}$/);

async function bodyOf(stream: Readable, length: number | undefined): Promise<Buffer | Readable | undefined> {
  if (length === 0) return undefined;
  if (length !== undefined && length > REPLAYABLE_BYTES) return stream;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > REPLAYABLE_BYTES * 64) throw new AppError('PAYLOAD_TOO_LARGE', 'Request bodies through the proxy are limited to 16 MiB');
    chunks.push(chunk as Buffer);
  }
  return chunks.length ? Buffer.concat(chunks) : undefined;
}

export function proxyRoutes(app: FastifyInstance, deps: { proxy: ProxyService }) {
  // Own scope: bodies are not parsed here, they are passed to the provider as they came.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    // Keyhold's own refusals are marked, so a client can tell them from the provider's answers.
    scope.addHook('onError', async (_req, reply, err) => {
      reply.header('x-keyhold-error', err instanceof AppError ? err.code : 'INTERNAL_ERROR');
    });
    scope.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
      url: '/api/proxy/:provider/*',
      schema: {
        tags: ['proxy'],
        summary: "Call the provider's API as this organization: credentials injected, rate limits respected (member+, or API key scope 'proxy')",
        description: 'Headers: X-Connection-Label picks the connection (default "default"); X-Keyhold-Max-Wait (ms, ≤ 30000) lets Keyhold wait for the rate limit instead of answering 429. The provider\'s answer streams back unchanged, without its cookies; its own 401/403 carries X-Keyhold-Upstream-Status, Keyhold\'s own refusals X-Keyhold-Error.',
        hide: false,
      },
      handler: async (req, reply) => {
        const provider = ProviderParam.safeParse((req.params as { provider: string }).provider);
        if (!provider.success) throw new AppError('UNKNOWN_PROVIDER', 'Unknown provider in the proxy path');
        const path = upstreamPath(req.raw.url ?? '', `/api/proxy/${provider.data}`);
        const label = req.headers['x-connection-label'];
        const wait = Number(req.headers['x-keyhold-max-wait'] ?? 0);
        const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
        const res = await deps.proxy.send(principalOf(req), provider.data, {
          method: req.method,
          path,
          headers: req.headers,
          ...(req.body !== undefined && req.body !== null ? { body: (await bodyOf(req.body as Readable, length)) as Buffer | Readable } : {}),
        }, {
          ...(typeof label === 'string' ? { label } : {}),
          maxWaitMs: Number.isFinite(wait) ? Math.min(Math.max(wait, 0), MAX_WAIT_MS) : 0,
        });
        reply.code(res.status).headers(res.headers);
        return reply.send(res.body);
      },
    });
  });

}
