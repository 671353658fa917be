import { stripeWebhookDelivery } from '@keyhold/sandbox';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import type { InboundWebhook } from '../adapter.js';
import { stripeWebhooks } from './webhooks.js';

const SECRET = 'whsec_test_secret_one';
const OTHER = 'whsec_test_secret_two';
const official = new Stripe('sk_test_123');
const at = new Date('2026-11-27T02:00:00Z');
const req = (d: { headers: Record<string, string>; body: Buffer }, raw = d.body): InboundWebhook => ({ method: 'POST', raw, headers: d.headers, query: {} });

describe('Stripe inbound webhooks', () => {
  it('a signed event is accepted within 300 s and names its id and type', () => {
    const d = stripeWebhookDelivery({ secrets: [SECRET], type: 'payment_intent.succeeded', eventId: 'evt_1', at });
    expect(stripeWebhooks.verify(req(d), [SECRET], new Date(at.getTime() + 299_000))).toEqual({ ok: true });
    const [event] = stripeWebhooks.events(req(d));
    expect(event).toMatchObject({ externalId: 'evt_1', topic: 'payment_intent.succeeded', routingKey: null });
  });

  it('outside the 300 s tolerance (either side) is stale', () => {
    const d = stripeWebhookDelivery({ secrets: [SECRET], type: 'charge.succeeded', at });
    expect(stripeWebhooks.verify(req(d), [SECRET], new Date(at.getTime() + 301_000))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(stripeWebhooks.verify(req(d), [SECRET], new Date(at.getTime() - 301_000))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('several v1 signatures: any one under any configured secret is enough (rolled secrets)', () => {
    const d = stripeWebhookDelivery({ secrets: [OTHER, SECRET], type: 'charge.succeeded', at });
    expect(stripeWebhooks.verify(req(d), [SECRET], at)).toEqual({ ok: true });
    expect(stripeWebhooks.verify(req(stripeWebhookDelivery({ secrets: [OTHER], type: 'x.y', at })), ['whsec_nope', OTHER], at)).toEqual({ ok: true });
  });

  it('tampered body, wrong secret, missing or unsigned header, no secret: refused', () => {
    const d = stripeWebhookDelivery({ secrets: [SECRET], type: 'charge.succeeded', at });
    expect(stripeWebhooks.verify(req(d, Buffer.from(d.body.toString().replace('charge', 'chargf'))), [SECRET], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(stripeWebhooks.verify(req(d), [OTHER], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(stripeWebhooks.verify({ ...req(d), headers: {} }, [SECRET], at)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(stripeWebhooks.verify({ ...req(d), headers: { 'stripe-signature': `t=${at.getTime() / 1000}` } }, [SECRET], at)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(stripeWebhooks.verify(req(d), [], at)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it("the sandbox's deliveries pass stripe-node's constructEvent, and stripe-node's test headers pass Keyhold's check", () => {
    const d = stripeWebhookDelivery({ secrets: [SECRET], type: 'invoice.paid', eventId: 'evt_lib' });
    expect(official.webhooks.constructEvent(d.body, d.headers['stripe-signature']!, SECRET).id).toBe('evt_lib');
    const payload = JSON.stringify({ id: 'evt_from_lib', type: 'customer.created', object: 'event' });
    const header = official.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: Math.floor(at.getTime() / 1000) });
    expect(stripeWebhooks.verify({ method: 'POST', raw: Buffer.from(payload), headers: { 'stripe-signature': header }, query: {} }, [SECRET], at)).toEqual({ ok: true });
    // and a tampered one is refused by both
    const bad = Buffer.from(payload.replace('customer', 'customex'));
    expect(() => official.webhooks.constructEvent(bad, header, SECRET, 1e9)).toThrow();
    expect(stripeWebhooks.verify({ method: 'POST', raw: bad, headers: { 'stripe-signature': header }, query: {} }, [SECRET], at).ok).toBe(false);
  });
});
