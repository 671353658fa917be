import { randomBytes } from 'node:crypto';
import { resendDelivery } from '@keyhold/sandbox';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import { adapterFor } from '../registry.js';
import { inbound, tamper } from '../shared/inbound.test-support.js';
import { resendWebhooks } from './webhooks.js';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const at = new Date('2026-11-27T02:00:00Z');
const later = (s: number) => new Date(at.getTime() + s * 1000);
const delivery = resendDelivery({ secret: SECRET, id: 'msg_2abc', event: { type: 'email.delivered' }, at });

describe('Resend webhooks (Svix)', () => {
  it('is the Resend adapter, connection level, keyed by webhookSecret', () => {
    expect(adapterFor({ id: 'resend' }).webhooks).toBe(resendWebhooks);
    expect(resendWebhooks).toMatchObject({ level: 'connection', secretField: 'webhookSecret', scheme: 'svix' });
  });

  it('accepts a signed delivery; the event id is svix-id and the topic the payload type', () => {
    expect(resendWebhooks.verify(inbound(delivery), [SECRET], later(10))).toEqual({ ok: true });
    expect(resendWebhooks.events(inbound(delivery))).toEqual([expect.objectContaining({ externalId: 'msg_2abc', topic: 'email.delivered', routingKey: null })]);
  });

  it('refuses a tampered body, a wrong secret, each missing header and no secret', () => {
    expect(resendWebhooks.verify(inbound(delivery, { body: tamper(delivery.body) }), [SECRET], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(resendWebhooks.verify(inbound(delivery), [`whsec_${randomBytes(24).toString('base64')}`], at)).toEqual({ ok: false, reason: 'bad_signature' });
    for (const h of ['svix-id', 'svix-timestamp', 'svix-signature']) {
      expect(resendWebhooks.verify(inbound(delivery, { drop: h }), [SECRET], at)).toEqual({ ok: false, reason: 'missing_signature' });
    }
    expect(resendWebhooks.verify(inbound(delivery), [], at)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('refuses a delivery whose svix-id was swapped: the id is signed', () => {
    expect(resendWebhooks.verify(inbound(delivery, { set: { 'svix-id': 'msg_other' } }), [SECRET], at)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses timestamps more than 5 minutes away, either way', () => {
    expect(resendWebhooks.verify(inbound(delivery), [SECRET], later(300))).toEqual({ ok: true });
    expect(resendWebhooks.verify(inbound(delivery), [SECRET], later(301))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(resendWebhooks.verify(inbound(delivery), [SECRET], later(-301))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('accepts either secret during a rotation, and a header with several space-separated signatures', () => {
    const next = `whsec_${randomBytes(24).toString('base64')}`;
    expect(resendWebhooks.verify(inbound(delivery), [next, SECRET], at)).toEqual({ ok: true });
    const both = resendDelivery({ secret: SECRET, extraSecrets: [next], id: 'msg_2', event: { type: 'email.sent' }, at });
    expect(both.headers['svix-signature']!.split(' ')).toHaveLength(2);
    expect(resendWebhooks.verify(inbound(both), [next], at)).toEqual({ ok: true });
  });

  describe('cross-checked with the standardwebhooks library (Svix-compatible)', () => {
    it('the library\'s signature is accepted by Keyhold', () => {
      const body = '{"type":"email.bounced","data":{"email_id":"em_9"}}';
      const signature = new Webhook(SECRET).sign('msg_lib', at, body);
      const t = String(Math.floor(at.getTime() / 1000));
      const req = inbound({ headers: { 'svix-id': 'msg_lib', 'svix-timestamp': t, 'svix-signature': signature }, body });
      expect(resendWebhooks.verify(req, [SECRET], at)).toEqual({ ok: true });
      expect(resendWebhooks.verify(inbound({ headers: req.headers as Record<string, string>, body: body.replace('9', '8') }), [SECRET], at)).toEqual({ ok: false, reason: 'bad_signature' });
    });

    it('the sandbox\'s delivery is accepted by the library', () => {
      vi.useFakeTimers({ now: at, toFake: ['Date'] });
      try {
        const headers = { 'webhook-id': delivery.headers['svix-id']!, 'webhook-timestamp': delivery.headers['svix-timestamp']!, 'webhook-signature': delivery.headers['svix-signature']! };
        expect(new Webhook(SECRET).verify(delivery.body, headers)).toMatchObject({ type: 'email.delivered' });
        expect(() => new Webhook(SECRET).verify(tamper(delivery.body), headers)).toThrow();
      } finally {
        vi.useRealTimers();
      }
    });
  });
});
