import { createHmac, randomUUID } from 'node:crypto';

export type ShopifyDeliveryInput = {
  /** The app's client secret. */
  secret: string;
  shop: string;
  topic: string;
  body: unknown;
  /** Same id again = a redelivery of the same event. */
  eventId?: string;
  webhookId?: string;
  at?: Date;
};

/**
 * A Shopify app webhook as Shopify sends it: JSON body, `X-Shopify-Hmac-Sha256` = base64
 * HMAC-SHA256 of the body under the client secret, and the routing/topic/id headers.
 * https://shopify.dev/docs/apps/build/webhooks/verify-deliveries
 */
export function shopifyWebhookDelivery(input: ShopifyDeliveryInput): { headers: Record<string, string>; body: Buffer } {
  const body = Buffer.from(JSON.stringify(input.body));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-hmac-sha256': createHmac('sha256', input.secret).update(body).digest('base64'),
      'x-shopify-shop-domain': input.shop,
      'x-shopify-topic': input.topic,
      'x-shopify-event-id': input.eventId ?? randomUUID(),
      'x-shopify-webhook-id': input.webhookId ?? randomUUID(),
      'x-shopify-api-version': '2026-10',
      'x-shopify-triggered-at': (input.at ?? new Date()).toISOString(),
    },
  };
}
