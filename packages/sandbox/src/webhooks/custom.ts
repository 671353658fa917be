import { createHmac } from 'node:crypto';
import { standardWebhookHeaders } from './standard-webhooks.js';

/**
 * A custom API's webhook delivery, in either shape Keyhold's `custom` provider accepts: an HMAC
 * header (name, hex|base64, optional prefix) or Standard Webhooks.
 */
export type CustomSigning =
  | { mode: 'hmac'; header: string; encoding: 'hex' | 'base64'; prefix?: string }
  | { mode: 'standard'; id: string };

export function customDelivery(opts: { secret: string; signing: CustomSigning; event: { id: string; type: string }; at: Date }): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ id: opts.event.id, type: opts.event.type, created_at: opts.at.toISOString() });
  if (opts.signing.mode === 'standard') {
    return { headers: { 'content-type': 'application/json', ...standardWebhookHeaders('webhook', { secrets: [opts.secret], id: opts.signing.id, at: opts.at, body }) }, body };
  }
  const mac = createHmac('sha256', opts.secret).update(body).digest(opts.signing.encoding);
  return { headers: { 'content-type': 'application/json', [opts.signing.header.toLowerCase()]: `${opts.signing.prefix ?? ''}${mac}` }, body };
}
