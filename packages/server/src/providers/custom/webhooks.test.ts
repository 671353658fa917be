import { randomBytes } from 'node:crypto';
import { customDelivery } from '@keyhold/sandbox';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import { adapterFor } from '../registry.js';
import { inbound, tamper } from '../shared/inbound.test-support.js';
import { customWebhooks } from './webhooks.js';

const at = new Date('2026-11-27T02:00:00Z');
const later = (s: number) => new Date(at.getTime() + s * 1000);
const SECRET = 'custom-hmac-secret';
const event = { id: 'evt-c1', type: 'order.paid' };
const github = { config: { webhookSignatureHeader: 'X-Hub-Signature-256', webhookSignatureEncoding: 'hex', webhookSignaturePrefix: 'sha256=' } };
const githubLike = customDelivery({ secret: SECRET, signing: { mode: 'hmac', header: 'X-Hub-Signature-256', encoding: 'hex', prefix: 'sha256=' }, event, at });

describe('custom webhooks: HMAC header', () => {
  it('is the custom adapter, connection level, keyed by webhookSecret', () => {
    expect(adapterFor({ id: 'custom' }).webhooks).toBe(customWebhooks);
    expect(customWebhooks).toMatchObject({ level: 'connection', secretField: 'webhookSecret', scheme: 'custom_hmac' });
  });

  it('accepts hex with a prefix in the configured header, and base64 without one', () => {
    expect(customWebhooks.verify(inbound(githubLike), [SECRET], at, github)).toEqual({ ok: true });
    const b64 = customDelivery({ secret: SECRET, signing: { mode: 'hmac', header: 'X-Signature', encoding: 'base64' }, event, at });
    expect(customWebhooks.verify(inbound(b64), [SECRET], at, { config: { webhookSignatureEncoding: 'base64' } })).toEqual({ ok: true });
    expect(customWebhooks.events(inbound(githubLike))).toEqual([expect.objectContaining({ externalId: 'evt-c1', topic: 'order.paid', routingKey: null })]);
  });

  it('refuses the right MAC in the wrong encoding or without the configured prefix', () => {
    expect(customWebhooks.verify(inbound(githubLike), [SECRET], at, { config: { ...github.config, webhookSignatureEncoding: 'base64' } })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(customWebhooks.verify(inbound(githubLike), [SECRET], at, { config: { ...github.config, webhookSignaturePrefix: 'v1=' } })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a tampered body, a wrong secret, a missing header and no secret', () => {
    expect(customWebhooks.verify(inbound(githubLike, { body: tamper(githubLike.body) }), [SECRET], at, github)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(customWebhooks.verify(inbound(githubLike), ['other'], at, github)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(customWebhooks.verify(inbound(githubLike, { drop: 'x-hub-signature-256' }), [SECRET], at, github)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(customWebhooks.verify(inbound(githubLike), [], at, github)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('accepts either secret during a rotation', () => {
    expect(customWebhooks.verify(inbound(githubLike), ['next', SECRET], at, github)).toEqual({ ok: true });
  });
});

describe('custom webhooks: Standard Webhooks', () => {
  const whsec = `whsec_${randomBytes(24).toString('base64')}`;
  const standard = { config: { webhookMode: 'standard' } };
  const delivery = customDelivery({ secret: whsec, signing: { mode: 'standard', id: 'msg_c1' }, event, at });

  it('accepts a signed delivery; the event id is webhook-id', () => {
    expect(customWebhooks.verify(inbound(delivery), [whsec], at, standard)).toEqual({ ok: true });
    expect(customWebhooks.events(inbound(delivery), standard)[0]).toMatchObject({ externalId: 'msg_c1', topic: 'order.paid' });
    // Only Standard Webhooks signs webhook-id; in the HMAC shape the body's id is the key.
    expect(customWebhooks.events(inbound(delivery), github)[0]).toMatchObject({ externalId: 'evt-c1' });
  });

  it('refuses tampered, wrong secret, stale, missing header and no secret', () => {
    expect(customWebhooks.verify(inbound(delivery, { body: tamper(delivery.body) }), [whsec], at, standard)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(customWebhooks.verify(inbound(delivery), [`whsec_${randomBytes(24).toString('base64')}`], at, standard)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(customWebhooks.verify(inbound(delivery), [whsec], later(301), standard)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(customWebhooks.verify(inbound(delivery, { drop: 'webhook-signature' }), [whsec], at, standard)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(customWebhooks.verify(inbound(delivery), [], at, standard)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('a secret that decodes to a short key counts as none (anyone could sign with an empty key)', () => {
    for (const weak of ['whsec_', '!!!!', 'whsec_AAAA']) {
      const signed = customDelivery({ secret: weak, signing: { mode: 'standard', id: 'msg_weak' }, event, at });
      expect(customWebhooks.verify(inbound(signed), [weak], at, standard)).toEqual({ ok: false, reason: 'no_secret' });
    }
  });

  it('a Standard Webhooks delivery is refused by an endpoint configured for an HMAC header', () => {
    expect(customWebhooks.verify(inbound(delivery), [whsec], at, { config: {} })).toEqual({ ok: false, reason: 'missing_signature' });
  });

  it('agrees with the standardwebhooks library both ways', () => {
    const body = '{"id":"e","type":"invoice.created"}';
    const headers = { 'webhook-id': 'msg_lib', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(whsec).sign('msg_lib', at, body) };
    expect(customWebhooks.verify(inbound({ headers, body }), [whsec], at, standard)).toEqual({ ok: true });
    vi.useFakeTimers({ now: at, toFake: ['Date'] });
    try {
      expect(new Webhook(whsec).verify(delivery.body, delivery.headers)).toMatchObject({ id: 'evt-c1' });
    } finally {
      vi.useRealTimers();
    }
  });
});
