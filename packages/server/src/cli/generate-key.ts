import { randomBytes } from 'node:crypto';

/** A new random 256-bit key, base64 — for master keys (`KEYHOLD_MASTER_KEYS`) and similar settings. */
export function generateKey(): string {
  return randomBytes(32).toString('base64');
}
