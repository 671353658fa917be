import { createHash } from 'node:crypto';
import type { InboundWebhook, WebhookEvent, WebhookHooks, WebhookVerdict } from '../adapter.js';
import { derivedEventId } from '../shared/app-webhook.js';
import { hmacSha256, sameBytes as digestEquals } from '../shared/signed-webhooks.js';

/**
 * Shopify app webhooks (one URL for the app, every store).
 * https://shopify.dev/docs/apps/build/webhooks/verify-deliveries — `X-Shopify-Hmac-SHA256` is the
 * base64 HMAC-SHA256 of the raw body under the app's client secret; after a rotation Shopify may
 * sign with the new secret for up to an hour, hence several secrets. No timestamp is signed
 * (unknown window): duplicates are caught by the event id instead.
 * The event id: `X-Shopify-Event-Id` names the event, `X-Shopify-Webhook-Id` the delivery
 * (https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates), but the HMAC covers neither:
 * a captured delivery resent under fresh ids would be a new row. The key is therefore a digest of
 * the signed body (which Shopify's retries resend unchanged) with the topic, so one resource sent
 * under two topics (orders/create, orders/paid) stays two events; the headers are kept for display.
 */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function verifyShopify(req: InboundWebhook, secrets: readonly string[]): WebhookVerdict {
  if (secrets.length === 0) return { ok: false, reason: 'no_secret' };
  const header = req.headers['x-shopify-hmac-sha256']?.trim();
  if (!header) return { ok: false, reason: 'missing_signature' };
  if (!BASE64.test(header)) return { ok: false, reason: 'bad_signature' };
  const given = Buffer.from(header, 'base64');
  let ok = false;
  // Every secret is tried (no early exit), so timing does not tell which one matched.
  for (const secret of secrets) ok = digestEquals(given, hmacSha256(secret, req.raw)) || ok;
  return ok ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/** The dedupe key of a Shopify delivery: the topic with a digest of the signed body (see above). */
export const shopifyEventId = (topic: string, raw: Buffer) => derivedEventId('shopify', topic, createHash('sha256').update(raw).digest('hex'));

/** Topics that mean the store's data changed (a sync should look); `app/uninstalled` ends the grant. */
const CHANGE_TOPIC = /^(orders|products|inventory_levels|inventory_items|customers|fulfillments|refunds)\//;

export function shopifyEvents(req: InboundWebhook): WebhookEvent[] {
  const topic = req.headers['x-shopify-topic']?.trim();
  const shop = req.headers['x-shopify-shop-domain']?.trim().toLowerCase();
  if (!topic || !shop) throw new Error('a Shopify delivery names its topic and store');
  const externalId = shopifyEventId(topic, req.raw);
  const payload: unknown = req.raw.length ? JSON.parse(req.raw.toString('utf8')) : {};
  // The signature covers the body only, not the headers naming store and topic: any app holder can
  // obtain signed bodies (its own subscriptions) and send them under another store's header. The
  // one destructive event must therefore name its store in the signed body (app/uninstalled's body
  // is the Shop resource: https://shopify.dev/docs/api/admin-rest/latest/resources/shop).
  if (topic === 'app/uninstalled' && String((payload as { myshopify_domain?: unknown })?.myshopify_domain ?? '').toLowerCase() !== shop) {
    throw new Error('app/uninstalled names another store in its signed body');
  }
  const effect = topic === 'app/uninstalled' ? 'disconnected' : CHANGE_TOPIC.test(topic) ? 'changed' : undefined;
  return [{ externalId, topic, routingKey: shop, payload, ...(effect ? { effect } : {}) }];
}

export const shopifyWebhooks: WebhookHooks = {
  scheme: 'shopify_hmac_base64',
  level: 'app',
  signedWithClientSecret: true,
  verify: (req, secrets) => verifyShopify(req, secrets),
  events: shopifyEvents,
};
