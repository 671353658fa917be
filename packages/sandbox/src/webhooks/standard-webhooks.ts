import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (Svix sends the same under `svix-` header names):
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the base64 part of `whsec_…`.
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export function standardWebhookHeaders(prefix: 'svix' | 'webhook', opts: { secrets: string[]; id: string; at: Date; body: string }): Record<string, string> {
  const t = Math.floor(opts.at.getTime() / 1000);
  const sign = (secret: string) => {
    const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
    return `v1,${createHmac('sha256', key).update(`${opts.id}.${t}.${opts.body}`).digest('base64')}`;
  };
  return { [`${prefix}-id`]: opts.id, [`${prefix}-timestamp`]: String(t), [`${prefix}-signature`]: opts.secrets.map(sign).join(' ') };
}

/** A fresh `whsec_` secret (24 random bytes, as Svix issues them). */
export const newWhsecSecret = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`;
