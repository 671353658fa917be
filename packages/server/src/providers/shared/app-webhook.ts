import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../platform/errors.js';
import type { WebhookVerdict } from '../adapter.js';

/**
 * Whether `signature` is the HMAC-SHA256 of `message` under any of `secrets` (two during a
 * rotation window), compared in constant time on equal-length buffers. The signature is decoded
 * from `encoding` first; a value that is not valid in that encoding simply never matches.
 */
export function hmacMatchesAny(message: Buffer, signature: string, secrets: readonly string[], encoding: 'base64' | 'hex'): boolean {
  const given = decode(signature, encoding);
  if (!given) return false;
  let matched = false;
  // Every secret is tried (no early exit) so the time taken says nothing about which one matched.
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(message).digest();
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  return matched;
}

function decode(signature: string, encoding: 'base64' | 'hex'): Buffer | null {
  const s = signature.trim();
  if (encoding === 'hex') return /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex') : null;
  // Buffer.from ignores characters outside the alphabet; a strict shape check keeps "almost base64" out.
  return /^[A-Za-z0-9+/]{43}=$/.test(s) ? Buffer.from(s, 'base64') : null;
}

/** The verdict of a single-header base64/hex HMAC over the raw body (Xero, Intuit, Meta). */
export function verifyBodyHmac(raw: Buffer, header: string | undefined, secrets: readonly string[], encoding: 'base64' | 'hex'): WebhookVerdict {
  const usable = secrets.filter((s) => s !== '');
  if (usable.length === 0) return { ok: false, reason: 'no_secret' };
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing_signature' };
  return hmacMatchesAny(raw, header, usable, encoding) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/**
 * A stable id for an event the provider gives none: the same event delivered again hashes to the
 * same id, so the (tenant, provider, external id) uniqueness drops the redelivery.
 */
export function derivedEventId(...parts: Array<string | number | undefined | null>): string {
  const h = createHash('sha256');
  // Length-prefixed, so ('ab','c') and ('a','bc') differ.
  for (const p of parts) {
    const s = p === undefined || p === null ? '' : String(p);
    h.update(`${Buffer.byteLength(s)}:${s};`);
  }
  return `derived:${h.digest('hex').slice(0, 40)}`;
}

/** A verified body that is not JSON is one the provider would never send (400). */
export function parseJsonBody(raw: Buffer, provider: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('VALIDATION_FAILED', `The ${provider} webhook body is not JSON`);
  }
}

export const malformedBody = (provider: string, why: string) => new AppError('VALIDATION_FAILED', `The ${provider} webhook body ${why}`);

export const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
export const stringOf = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? x : typeof x === 'number' ? String(x) : undefined);
