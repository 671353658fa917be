import { createHmac, timingSafeEqual } from 'node:crypto';
import type { InboundWebhook, WebhookVerdict } from '../adapter.js';

/*
 * Building blocks of per-connection webhook verification: HMAC over the raw bytes, constant-time
 * comparison, timestamp windows on an injected clock. Adapters cite their provider's page for the
 * scheme they assemble from these.
 */

export const hmacSha256 = (key: string | Buffer, ...parts: Array<string | Buffer>): Buffer => {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

/** Constant time on equal lengths; a length mismatch is a mismatch (the length is not secret). */
export const sameBytes = (a: Buffer, b: Buffer): boolean => a.length === b.length && a.length > 0 && timingSafeEqual(a, b);

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Decodes a signature as sent; null when it is not well-formed in that encoding (never a partial decode). */
export function decodeSignature(text: string, encoding: 'hex' | 'base64'): Buffer | null {
  const t = text.trim();
  if (t === '') return null;
  if (encoding === 'hex') return HEX.test(t) ? Buffer.from(t, 'hex') : null;
  return BASE64.test(t) ? Buffer.from(t, 'base64') : null;
}

/** The secrets actually configured (a rotation window gives two; blank values are no secret). */
export const configured = (secrets: readonly string[]): string[] => secrets.map((s) => s.trim()).filter((s) => s !== '');

/** Unix seconds as sent (digits only); null when malformed. */
export function unixSeconds(text: string | undefined): number | null {
  if (!text || !/^\d{1,12}$/.test(text.trim())) return null;
  return Number(text.trim());
}

export const withinWindow = (seconds: number, now: Date, toleranceSeconds: number): boolean =>
  Math.abs(now.getTime() / 1000 - seconds) <= toleranceSeconds;

/**
 * Checks each candidate signature against each secret's expected MAC; every pair is compared
 * (no early exit on the first secret) so timing says nothing about which secret matched.
 */
export function anyMatch(candidates: readonly Buffer[], expected: readonly Buffer[]): boolean {
  let ok = false;
  for (const c of candidates) for (const e of expected) ok = sameBytes(c, e) || ok;
  return ok;
}

/** The body as JSON, for `events` (called only after `verify` passed). Throws on a body no provider sends. */
export function jsonBody(req: InboundWebhook): Record<string, unknown> {
  const value: unknown = JSON.parse(req.raw.toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('webhook body is not a JSON object');
  return value as Record<string, unknown>;
}

export const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

export const refuse = (reason: Exclude<WebhookVerdict, { ok: true }>['reason']): WebhookVerdict => ({ ok: false, reason });
export const ACCEPT: WebhookVerdict = { ok: true };

/**
 * Standard Webhooks (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
 * which Svix also sends under `svix-` header names: `<prefix>-id`, `<prefix>-timestamp` (unix
 * seconds), `<prefix>-signature` = space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`;
 * the secret is `whsec_<base64 key>`; 5 minutes of tolerance either way.
 */
export function verifyStandardWebhook(req: InboundWebhook, secrets: readonly string[], now: Date, prefix: 'svix' | 'webhook'): WebhookVerdict {
  // A secret that decodes to a short key (`whsec_`, `!!!!`) is as good as none: anyone could sign with it.
  const keys = configured(secrets).filter((k) => standardWebhookKey(k).length >= MIN_KEY_BYTES);
  if (keys.length === 0) return refuse('no_secret');
  const id = req.headers[`${prefix}-id`];
  const sent = req.headers[`${prefix}-timestamp`];
  const signatures = req.headers[`${prefix}-signature`];
  if (!id || !sent || !signatures) return refuse('missing_signature');
  const seconds = unixSeconds(sent);
  if (seconds === null) return refuse('malformed');
  if (!withinWindow(seconds, now, STANDARD_WEBHOOKS_TOLERANCE_S)) return refuse('stale_timestamp');
  const candidates = signatures.split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => decodeSignature(s.slice(3), 'base64'))
    .filter((b): b is Buffer => b !== null);
  if (candidates.length === 0) return refuse('malformed');
  const expected = keys.map((k) => hmacSha256(standardWebhookKey(k), `${id}.${seconds}.`, req.raw));
  return anyMatch(candidates, expected) ? ACCEPT : refuse('bad_signature');
}
export const STANDARD_WEBHOOKS_TOLERANCE_S = 5 * 60;
/** The spec's secrets are 24–64 random bytes; fewer than 16 is refused. */
const MIN_KEY_BYTES = 16;

/** `whsec_<base64>` → the key bytes; a secret without the prefix is taken as base64 too (the spec's libraries do the same). */
export function standardWebhookKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}
