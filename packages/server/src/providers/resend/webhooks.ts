import type { WebhookHooks } from '../adapter.js';
import { jsonBody, text, verifyStandardWebhook } from '../shared/signed-webhooks.js';
import { resendDeliveryStatus } from './email.js';

/**
 * Resend sends its webhooks through Svix: `svix-id`, `svix-timestamp`, `svix-signature`
 * (space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), keyed with the base64 part
 * of the endpoint's `whsec_…` signing secret; 5 minutes of tolerance.
 * https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests,
 * https://docs.svix.com/receiving/verifying-payloads/how-manual
 */
export const resendWebhooks: WebhookHooks = {
  scheme: 'svix',
  level: 'connection',
  secretField: 'webhookSecret',
  verify: (req, secrets, now) => verifyStandardWebhook(req, secrets, now, 'svix'),
  // `svix-id` stays the same across Svix's retries of one message, so it is the dedupe key;
  // the topic is Resend's event `type` (`email.delivered`, …): https://resend.com/docs/dashboard/webhooks/event-types
  events(req) {
    const body = jsonBody(req);
    const topic = text(body.type);
    const externalId = req.headers['svix-id'];
    if (!topic || !externalId) throw new Error('Resend webhook without a type or svix-id');
    return [{ externalId, topic, routingKey: null, payload: body }];
  },
  deliveryStatus: resendDeliveryStatus,
};
