import type { InboundWebhook, WebhookEvent, WebhookHooks, WebhookVerdict } from '../adapter.js';
import { hmacSha256, sameBytes as digestEquals } from '../shared/signed-webhooks.js';

/**
 * Stripe webhook endpoints (one per connection; the tenant pastes the URL and its `whsec_…`).
 * https://docs.stripe.com/webhooks#verify-manually — `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`,
 * `v1` = hex HMAC-SHA256 of `<t>.<raw body>` under the endpoint's signing secret; several `v1`
 * appear while a rolled secret is still valid, any one matching is enough. Other schemes (`v0`)
 * are ignored, as Stripe's libraries do. Tolerance 300 s, the libraries' default.
 */
export const STRIPE_TOLERANCE_S = 300;
const HEX64 = /^[0-9a-f]{64}$/;

export function verifyStripe(req: InboundWebhook, secrets: readonly string[], now: Date): WebhookVerdict {
  if (secrets.length === 0) return { ok: false, reason: 'no_secret' };
  const header = req.headers['stripe-signature'];
  if (!header) return { ok: false, reason: 'missing_signature' };
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') t = value;
    else if (key === 'v1' && HEX64.test(value)) v1.push(Buffer.from(value, 'hex'));
  }
  if (!t || !/^\d{1,12}$/.test(t) || v1.length === 0) return { ok: false, reason: 'missing_signature' };
  let ok = false;
  for (const secret of secrets) {
    const expected = hmacSha256(secret, Buffer.concat([Buffer.from(`${t}.`), req.raw]));
    for (const given of v1) ok = digestEquals(given, expected) || ok;
  }
  if (!ok) return { ok: false, reason: 'bad_signature' };
  // Checked after the signature, so an unsigned header cannot probe the clock.
  if (Math.abs(now.getTime() / 1000 - Number(t)) > STRIPE_TOLERANCE_S) return { ok: false, reason: 'stale_timestamp' };
  return { ok: true };
}

/** One event per delivery: `{ id: "evt_…", type: "payment_intent.succeeded", … }`. */
export function stripeEvents(req: InboundWebhook): WebhookEvent[] {
  const body = JSON.parse(req.raw.toString('utf8')) as { id?: unknown; type?: unknown };
  if (typeof body.id !== 'string' || typeof body.type !== 'string') throw new Error('a Stripe event has an id and a type');
  return [{ externalId: body.id, topic: body.type, routingKey: null, payload: body }];
}

export const stripeWebhooks: WebhookHooks = {
  scheme: 'stripe_signature',
  level: 'connection',
  secretField: 'webhookSecret',
  verify: verifyStripe,
  events: stripeEvents,
};
