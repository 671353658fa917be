import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 of `data` under `secret`. */
export const hmacSha256 = (secret: string, data: Buffer | string): Buffer => createHmac('sha256', secret).update(data).digest();

/**
 * Whether `given` equals `expected`, in constant time. Lengths differ only when the header is not
 * a digest at all, which says nothing about the secret.
 */
export function digestEquals(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}
