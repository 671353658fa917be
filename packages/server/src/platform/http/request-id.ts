import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_INCOMING_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/**
 * A caller-supplied `X-Request-Id` is kept when it is a plain token (so traces join up across
 * services); anything else is replaced, so logs never carry attacker-chosen text.
 */
export function requestIdFor(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  if (typeof incoming === 'string' && SAFE_INCOMING_ID.test(incoming)) return incoming;
  return `req_${nextRandom().toString('base64url')}`;
}

/** Random bytes drawn from a pooled buffer: one system call per 341 request ids instead of one each. */
let pool = Buffer.alloc(0);
let offset = 0;
function nextRandom(): Buffer {
  if (offset + 12 > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  offset += 12;
  return pool.subarray(offset - 12, offset);
}
