import { createHmac } from 'node:crypto';
import { unleashedDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../registry.js';
import { inbound } from '../shared/inbound.test-support.js';
import { UNLEASHED_TOLERANCE_S, unleashedWebhooks } from './webhooks.js';

const KEY = 'unleashed-signing-key';
const at = new Date('2026-11-27T02:00:00Z');
const later = (s: number) => new Date(at.getTime() + s * 1000);
const delivery = unleashedDelivery({ signingKey: KEY, event: { eventNotificationId: 'n-1', eventType: 'product.updated' }, at });

describe('Unleashed webhooks (x-unleashed-signature over timestamp.body)', () => {
  it('is the Unleashed adapter, connection level, keyed by webhookSigningKey', () => {
    expect(adapterFor({ id: 'unleashed' }).webhooks).toBe(unleashedWebhooks);
    expect(unleashedWebhooks).toMatchObject({ level: 'connection', secretField: 'webhookSigningKey', scheme: 'unleashed_hmac' });
  });

  it('accepts a signed delivery; the event is the notification id and event type', () => {
    expect(unleashedWebhooks.verify(inbound(delivery), [KEY], later(30))).toEqual({ ok: true });
    expect(unleashedWebhooks.events(inbound(delivery))).toEqual([expect.objectContaining({ externalId: 'n-1', topic: 'product.updated', routingKey: null })]);
  });

  it('accepts the form computed independently', () => {
    const body = '{"eventNotificationId":"n-2","eventType":"customer.created"}';
    const t = String(Math.floor(at.getTime() / 1000));
    const sig = createHmac('sha256', KEY).update(`${t}.${body}`).digest('base64');
    expect(unleashedWebhooks.verify(inbound({ headers: { 'X-Unleashed-Signature': sig, 'X-Unleashed-Timestamp': t }, body }), [KEY], at)).toEqual({ ok: true });
  });

  it('refuses a tampered body, a wrong key, a moved timestamp, missing headers and no secret', () => {
    expect(unleashedWebhooks.verify(inbound(delivery, { body: delivery.body.replace('n-1', 'n-9') }), [KEY], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(unleashedWebhooks.verify(inbound(delivery), ['other'], at)).toEqual({ ok: false, reason: 'bad_signature' });
    const moved = String(Number(delivery.headers['x-unleashed-timestamp']) + 1);
    expect(unleashedWebhooks.verify(inbound(delivery, { set: { 'x-unleashed-timestamp': moved } }), [KEY], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(unleashedWebhooks.verify(inbound(delivery, { drop: 'x-unleashed-signature' }), [KEY], at)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(unleashedWebhooks.verify(inbound(delivery, { drop: 'x-unleashed-timestamp' }), [KEY], at)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(unleashedWebhooks.verify(inbound(delivery), [], at)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('refuses a delivery more than 5 minutes old', () => {
    expect(unleashedWebhooks.verify(inbound(delivery), [KEY], later(UNLEASHED_TOLERANCE_S))).toEqual({ ok: true });
    expect(unleashedWebhooks.verify(inbound(delivery), [KEY], later(UNLEASHED_TOLERANCE_S + 1))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('accepts either key during a rotation', () => {
    expect(unleashedWebhooks.verify(inbound(delivery), ['next-key', KEY], at)).toEqual({ ok: true });
  });
});
