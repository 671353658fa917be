import { createHmac } from 'node:crypto';
import { kustomerDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../registry.js';
import { inbound, tamper } from '../shared/inbound.test-support.js';
import { kustomerWebhooks } from './webhooks.js';

const TOKEN = 'kustomer-webhook-token';
const at = new Date('2026-11-27T02:00:00Z');
const delivery = kustomerDelivery({ secret: TOKEN, event: { id: 'evt-k1', type: 'kustomer.conversation.update' }, at });

describe('Kustomer webhooks (X-Kustomer-Webhook-Signature)', () => {
  it('is the Kustomer adapter, connection level, keyed by webhookSecret', () => {
    expect(adapterFor({ id: 'kustomer' }).webhooks).toBe(kustomerWebhooks);
    expect(kustomerWebhooks).toMatchObject({ level: 'connection', secretField: 'webhookSecret', scheme: 'kustomer_hmac' });
  });

  it('accepts a signed delivery and yields one event with the payload id and type', () => {
    expect(kustomerWebhooks.verify(inbound(delivery), [TOKEN], at)).toEqual({ ok: true });
    expect(kustomerWebhooks.events(inbound(delivery))).toEqual([expect.objectContaining({ externalId: 'evt-k1', topic: 'kustomer.conversation.update', routingKey: null })]);
  });

  it('accepts the documented form computed independently (lowercase hex HMAC-SHA256 of the body)', () => {
    const body = '{"id":"e","type":"kustomer.customer.create"}';
    const sig = createHmac('sha256', TOKEN).update(body).digest('hex');
    expect(kustomerWebhooks.verify(inbound({ headers: { 'X-Kustomer-Webhook-Signature': sig }, body }), [TOKEN], at)).toEqual({ ok: true });
  });

  it('refuses a tampered body, a wrong token, a missing header, a malformed header and no secret', () => {
    expect(kustomerWebhooks.verify(inbound(delivery, { body: tamper(delivery.body) }), [TOKEN], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(kustomerWebhooks.verify(inbound(delivery), ['other'], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(kustomerWebhooks.verify(inbound(delivery, { drop: 'x-kustomer-webhook-signature' }), [TOKEN], at)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(kustomerWebhooks.verify(inbound(delivery, { set: { 'x-kustomer-webhook-signature': 'not-hex' } }), [TOKEN], at)).toEqual({ ok: false, reason: 'malformed' });
    expect(kustomerWebhooks.verify(inbound(delivery), ['  '], at)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('accepts either token during a rotation', () => {
    expect(kustomerWebhooks.verify(inbound(delivery), ['new-token', TOKEN], at)).toEqual({ ok: true });
  });
});
