import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../../platform/errors.js';

/**
 * RFC 9110 §7.6.1 hop-by-hop headers, plus those a proxy must set itself, plus `Expect`: Keyhold's
 * server already answered the client's 100-continue, and the upstream client cannot send it.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect']);
/** Keyhold's own credentials and controls: they are for Keyhold, never for the provider. */
const KEYHOLD_ONLY = new Set(['authorization', 'cookie', 'x-mfa-code', 'x-connection-label', 'forwarded', 'x-real-ip']);
const isKeyholdOnly = (name: string) => KEYHOLD_ONLY.has(name) || name.startsWith('x-keyhold-') || name.startsWith('x-forwarded-');

/**
 * The client's headers that may travel to the provider: no hop-by-hop header, nothing addressed
 * to Keyhold (its Authorization, cookies, X-Keyhold-*), and nothing the credential injection sets.
 */
export function forwardableRequestHeaders(headers: IncomingHttpHeaders, injected: Record<string, string>): Record<string, string> {
  const connectionListed = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean));
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(name) || connectionListed.has(name) || isKeyholdOnly(name) || name in injected) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The provider's headers that may travel back: no hop-by-hop headers, no cookies for our origin,
 * and no `X-Keyhold-*`: those are Keyhold's marks (its own refusals, a provider's 401/403), which
 * a provider must not be able to forge.
 */
export function forwardableResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined || (HOP_BY_HOP.has(name) && name !== 'content-length') || name === 'set-cookie' || name.startsWith('x-keyhold-')) continue;
    out[name] = value;
  }
  return out;
}

/**
 * The part of the request URL after `/api/proxy/<provider>`, kept as the client encoded it. Dot
 * segments, encoded slashes or dots, backslashes and a leading `//` are refused, so a path can
 * never climb out of the provider's base URL or name another host.
 */
export function upstreamPath(rawUrl: string, prefix: string): string {
  const rest = rawUrl.slice(prefix.length);
  const path = rest.split('?')[0] ?? '';
  const bad = !path.startsWith('/') || path.startsWith('//') || /(^|\/)\.\.?(\/|$)/.test(path) || /%2e|%2f|%5c|\\/i.test(path) || /[\u0000-\u001f\u007f]/.test(rest);
  if (bad) throw new AppError('VALIDATION_FAILED', 'path: give the provider API path, like /v1/customers (no dot segments or encoded slashes)');
  return rest;
}

/** The final URL must stay under the provider's base URL (same origin, same base path). */
export function assertUnderBase(url: string, base: string) {
  const u = new URL(url);
  const b = new URL(base);
  const basePath = b.pathname.replace(/\/+$/, '');
  if (u.origin !== b.origin || !(u.pathname === basePath || u.pathname.startsWith(`${basePath}/`))) {
    throw new AppError('VALIDATION_FAILED', "path: leaves the provider's API");
  }
}
