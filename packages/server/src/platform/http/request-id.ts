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
  return `req_${randomBytes(12).toString('base64url')}`;
}
