import { createHash } from 'node:crypto';
import type { WebhookHooks } from '../adapter.js';
import { ACCEPT, anyMatch, configured, decodeSignature, hmacSha256, jsonBody, refuse, text } from '../shared/signed-webhooks.js';

/**
 * Kustomer signs each delivery: `X-Kustomer-Webhook-Signature` = lowercase hex HMAC-SHA256 of the
 * raw body keyed with the webhook's `token`; `X-Kustomer-Webhook-Event` names the event.
 * https://developer.kustomer.com/docs/events/delivery-and-retries
 * No timestamp is signed, so there is no window to check: a replay of a captured delivery is
 * stopped by the (tenant, provider, event id) dedupe, not here.
 */
export const kustomerWebhooks: WebhookHooks = {
  scheme: 'kustomer_hmac',
  level: 'connection',
  secretField: 'webhookSecret',
  verify(req, secrets) {
    const keys = configured(secrets);
    if (keys.length === 0) return refuse('no_secret');
    const header = req.headers['x-kustomer-webhook-signature'];
    if (!header) return refuse('missing_signature');
    const signature = decodeSignature(header, 'hex');
    if (!signature) return refuse('malformed');
    return anyMatch([signature], keys.map((k) => hmacSha256(k, req.raw))) ? ACCEPT : refuse('bad_signature');
  },
  // Kustomer's event envelope carries its own `id` and `type` (`kustomer.conversation.update`):
  // https://developer.kustomer.com/docs/events/event-types
  events(req) {
    const body = jsonBody(req);
    const topic = text(body.type) ?? req.headers['x-kustomer-webhook-event'];
    if (!topic) throw new Error('Kustomer webhook without an event type');
    const externalId = text(body.id) ?? createHash('sha256').update(req.raw).digest('hex');
    return [{ externalId, topic, routingKey: null, payload: body }];
  },
};
