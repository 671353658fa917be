import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/** Deeper input is refused by the schemas anyway; the walk stops here so it stays cheap. */
const MAX_DEPTH = 32;

/** NUL and unpaired UTF-16 surrogates: valid in JSON and URLs, refused by Postgres text. */
function badText(s: string): boolean {
  return s.includes('\u0000') || !(s as string & { isWellFormed(): boolean }).isWellFormed();
}

function find(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value === 'string') return badText(value) ? path : undefined;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = find(v, `${path}.${i}`, depth + 1);
      if (hit) return hit;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const field = `${path}.${k}`;
    if (badText(k)) return path;
    const hit = find(v, field, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * One rule for every text a client sends (path parameters, query, JSON body): no NUL byte and no
 * unpaired surrogate. Checked before any schema or handler sees the input, so no route can forget
 * it and no such value reaches Postgres (where it would fail as a server error) or the logs.
 */
export function refuseUnstorableText(req: FastifyRequest): void {
  const hit = find(req.params, 'params', 0) ?? find(req.query, 'querystring', 0) ?? (isParsed(req.body) ? find(req.body, 'body', 0) : undefined);
  if (hit) throw new AppError('VALIDATION_FAILED', `${hit}: must not contain NUL characters or unpaired surrogates`);
}

/**
 * The proxy passes bodies through as streams and webhooks arrive as raw `Buffer`s (signed bytes,
 * never text Keyhold stores as such): those are the provider's business, not ours. A Buffer walked
 * as an object would be visited byte by byte.
 */
const isParsed = (body: unknown) => body !== undefined && body !== null && !Buffer.isBuffer(body) && typeof (body as { pipe?: unknown }).pipe !== 'function';
