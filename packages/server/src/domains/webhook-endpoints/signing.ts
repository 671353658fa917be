import { createHmac, randomBytes } from 'node:crypto';
import { Secret } from '../../platform/crypto/secret.js';

/**
 * Standard Webhooks (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * `webhook-id` (the delivery's id, the same on every attempt), `webhook-timestamp` (seconds, this
 * attempt) and `webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per valid
 * secret, space-separated (both during a rotation). The key is the base64 after `whsec_`.
 */
export const SECRET_PREFIX = 'whsec_';
/** Between the spec's 24 and 64 bytes. */
const SECRET_BYTES = 32;

export function newEndpointSecret(): Secret {
  return new Secret(`${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`);
}

function signatureWith(secret: Secret, signed: string): string {
  const key = Buffer.from(secret.reveal().slice(SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
}

export function standardWebhookHeaders(m: { id: string; timestamp: Date; body: string; secrets: readonly Secret[] }): Record<string, string> {
  const ts = String(Math.floor(m.timestamp.getTime() / 1000));
  const signed = `${m.id}.${ts}.${m.body}`;
  return {
    'content-type': 'application/json',
    'webhook-id': m.id,
    'webhook-timestamp': ts,
    'webhook-signature': m.secrets.map((s) => signatureWith(s, signed)).join(' '),
  };
}

/** The message id a receiver deduplicates on: the delivery's, so retries and recoveries share it. */
export const messageId = (deliveryId: string) => `msg_${deliveryId}`;
