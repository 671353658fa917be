import { createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { Secret } from '../../platform/crypto/secret.js';

/**
 * Standard Webhooks (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * `webhook-id` (the delivery's id, the same on every attempt), `webhook-timestamp` (seconds, this
 * attempt) and `webhook-signature`: one signature of `id.timestamp.body` per valid key,
 * space-separated (both during a rotation):
 * - `v1,<base64 HMAC-SHA256>` keyed with the base64 after `whsec_` (a secret shared with the tenant);
 * - `v1a,<base64 ed25519 signature>` with Keyhold's private key (`whsk_`, never shown); the tenant
 *   verifies with the public key (`whpk_` + base64 of its 32 raw bytes).
 */
export type SignatureScheme = 'v1' | 'v1a';
export const SECRET_PREFIX = 'whsec_';
const PRIVATE_PREFIX = 'whsk_';
const PUBLIC_PREFIX = 'whpk_';
/** Between the spec's 24 and 64 bytes. */
const SECRET_BYTES = 32;

/** A new signing key: for v1 the secret the tenant is shown; for v1a a private key and the public key the tenant is shown. */
export function newSigningKey(scheme: SignatureScheme): { secret: Secret; publicKey: string | null } {
  if (scheme === 'v1') return { secret: new Secret(`${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`), publicKey: null };
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    secret: new Secret(`${PRIVATE_PREFIX}${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}`),
    publicKey: `${PUBLIC_PREFIX}${raw.toString('base64')}`,
  };
}

function signatureWith(key: Secret, signed: string): string {
  const value = key.reveal();
  if (value.startsWith(PRIVATE_PREFIX)) {
    const privateKey = createPrivateKey({ key: Buffer.from(value.slice(PRIVATE_PREFIX.length), 'base64'), format: 'der', type: 'pkcs8' });
    return `v1a,${sign(null, Buffer.from(signed), privateKey).toString('base64')}`;
  }
  return `v1,${createHmac('sha256', Buffer.from(value.slice(SECRET_PREFIX.length), 'base64')).update(signed).digest('base64')}`;
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
