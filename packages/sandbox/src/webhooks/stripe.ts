import { createHmac, randomBytes } from 'node:crypto';

export type StripeDeliveryInput = {
  /** The endpoint's signing secrets (`whsec_…`): one `v1` each, as Stripe sends during a roll. */
  secrets: readonly string[];
  type: string;
  /** Same id again = a redelivery of the same event. */
  eventId?: string;
  object?: Record<string, unknown>;
  at?: Date;
};

/**
 * A Stripe event delivery: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` per secret.
 * https://docs.stripe.com/webhooks#verify-manually
 */
export function stripeWebhookDelivery(input: StripeDeliveryInput): { headers: Record<string, string>; body: Buffer } {
  const t = Math.floor((input.at ?? new Date()).getTime() / 1000);
  const body = Buffer.from(JSON.stringify({
    id: input.eventId ?? `evt_${randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: t,
    type: input.type,
    livemode: false,
    data: { object: input.object ?? { id: `pi_${randomBytes(8).toString('hex')}`, object: 'payment_intent' } },
  }, null, 2));
  const v1 = input.secrets.map((s) => `v1=${createHmac('sha256', s).update(`${t}.`).update(body).digest('hex')}`);
  return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': [`t=${t}`, ...v1].join(',') } };
}
