import { createHmac } from 'node:crypto';

/**
 * A Kustomer webhook delivery: `X-Kustomer-Webhook-Signature` = hex HMAC-SHA256 of the raw body
 * with the webhook's token, `X-Kustomer-Webhook-Event` = the event type.
 * https://developer.kustomer.com/docs/events/delivery-and-retries
 */
export type KustomerEvent = { id: string; type: string; data?: Record<string, unknown> };

export function kustomerDelivery(opts: { secret: string; event: KustomerEvent; at: Date }): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ id: opts.event.id, type: opts.event.type, createdAt: opts.at.toISOString(), data: opts.event.data ?? {} });
  return {
    headers: {
      'content-type': 'application/json',
      'x-kustomer-webhook-event': opts.event.type,
      'x-kustomer-webhook-signature': createHmac('sha256', opts.secret).update(body).digest('hex'),
    },
    body,
  };
}
