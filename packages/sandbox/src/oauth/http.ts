import type { IncomingMessage } from 'node:http';
import type { Reply } from '../providers.js';

const MAX_BODY_BYTES = 1 << 20;

/** Reads a request body; the sandbox only ever receives small form or JSON bodies. */
export async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Form or JSON parameters, by content type (Intuit's revocation endpoint takes JSON, Shopify either). */
export function bodyParams(req: IncomingMessage, body: string): Record<string, string> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('json')) {
    try {
      const parsed: unknown = JSON.parse(body || '{}');
      if (!parsed || typeof parsed !== 'object') return {};
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string' || typeof v === 'number').map(([k, v]) => [k, String(v)]));
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

export const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
export const bearer = (req: IncomingMessage) => /^Bearer\s+(\S+)$/i.exec(header(req, 'authorization') ?? '')?.[1];

/**
 * Client id and secret from an HTTP Basic header. RFC 6749 §2.3.1 form-encodes both before
 * base64 (oauth4webapi does); many clients don't, so callers try the raw pair too.
 */
export function basicCredentials(req: IncomingMessage): Array<{ id: string; secret: string }> {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header(req, 'authorization') ?? '');
  if (!m) return [];
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return [];
  const raw = { id: decoded.slice(0, i), secret: decoded.slice(i + 1) };
  const unform = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  const form = { id: unform(raw.id), secret: unform(raw.secret) };
  return form.id === raw.id && form.secret === raw.secret ? [raw] : [form, raw];
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body, ...(headers ? { headers } : {}) });

/** RFC 6749 §5.1: token replies must not be cached. */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export const oauthError = (status: number, error: string, description: string): Reply =>
  json(status, { error, error_description: description }, NO_STORE);

/** A 302 to `target` with `params` appended; no body, so no content type. */
export function redirect(target: string, params: Record<string, string | undefined>, fragment = ''): Reply {
  const u = new URL(target);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return { status: 302, body: undefined, headers: { location: u.href + fragment } };
}
