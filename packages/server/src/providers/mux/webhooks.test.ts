import { createHmac } from 'node:crypto';
import { muxDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../registry.js';
import { inbound, tamper } from '../shared/inbound.test-support.js';
import { MUX_TOLERANCE_S, muxWebhooks } from './webhooks.js';

const SECRET = 'mux-signing-secret-1';
const at = new Date('2026-11-27T02:00:00Z');
const later = (s: number) => new Date(at.getTime() + s * 1000);
const delivery = muxDelivery({ secret: SECRET, event: { id: 'evt-1', type: 'video.asset.ready' }, at });

describe('Mux webhooks (Mux-Signature t=,v1=)', () => {
  it('is the Mux adapter, connection level, keyed by the connection secret field webhookSecret', () => {
    expect(adapterFor({ id: 'mux' }).webhooks).toBe(muxWebhooks);
    expect(muxWebhooks).toMatchObject({ level: 'connection', secretField: 'webhookSecret', scheme: 'mux_signature' });
  });

  it('accepts a signed delivery and yields one event: id and type from the payload', () => {
    expect(muxWebhooks.verify(inbound(delivery), [SECRET], later(5))).toEqual({ ok: true });
    expect(muxWebhooks.events(inbound(delivery))).toEqual([expect.objectContaining({ externalId: 'evt-1', topic: 'video.asset.ready', routingKey: null })]);
  });

  it('accepts a header signed the way Mux documents it, computed independently', () => {
    const body = '{"type":"video.asset.created","id":"e2"}';
    const t = Math.floor(at.getTime() / 1000);
    const v1 = createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex');
    expect(muxWebhooks.verify(inbound({ headers: { 'Mux-Signature': `t=${t},v1=${v1}` }, body }), [SECRET], at)).toEqual({ ok: true });
  });

  it('refuses a tampered body, a wrong secret, a missing header and no secret', () => {
    expect(muxWebhooks.verify(inbound(delivery, { body: tamper(delivery.body) }), [SECRET], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(muxWebhooks.verify(inbound(delivery), ['another-secret'], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(muxWebhooks.verify(inbound(delivery, { drop: 'mux-signature' }), [SECRET], at)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(muxWebhooks.verify(inbound(delivery), [], at)).toEqual({ ok: false, reason: 'no_secret' });
    expect(muxWebhooks.verify(inbound(delivery), [''], at)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('refuses a timestamp outside 300 s either way, and accepts one at the edge', () => {
    expect(muxWebhooks.verify(inbound(delivery), [SECRET], later(MUX_TOLERANCE_S))).toEqual({ ok: true });
    expect(muxWebhooks.verify(inbound(delivery), [SECRET], later(MUX_TOLERANCE_S + 1))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(muxWebhooks.verify(inbound(delivery), [SECRET], later(-MUX_TOLERANCE_S - 1))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('refuses a re-dated delivery: the timestamp is inside the signature', () => {
    const moved = delivery.headers['mux-signature']!.replace(/t=(\d+)/, (_m, t: string) => `t=${Number(t) + 60}`);
    expect(muxWebhooks.verify(inbound(delivery, { set: { 'mux-signature': moved } }), [SECRET], at)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('accepts either secret during a rotation, and a header carrying several v1 signatures', () => {
    expect(muxWebhooks.verify(inbound(delivery), ['the-new-secret', SECRET], at)).toEqual({ ok: true });
    const both = muxDelivery({ secret: 'old', extraSecrets: ['new'], event: { id: 'e', type: 'video.asset.ready' }, at });
    expect(muxWebhooks.verify(inbound(both), ['new'], at)).toEqual({ ok: true });
  });

  it('refuses malformed headers as malformed, not as a match', () => {
    for (const h of ['v1=abc', 't=abc,v1=00', `t=${Math.floor(at.getTime() / 1000)}`, `t=${Math.floor(at.getTime() / 1000)},v1=zz`]) {
      expect(muxWebhooks.verify(inbound(delivery, { set: { 'mux-signature': h } }), [SECRET], at)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('a redelivery of the same event has the same external id', () => {
    const again = muxDelivery({ secret: SECRET, event: { id: 'evt-1', type: 'video.asset.ready' }, at: later(60) });
    expect(muxWebhooks.events(inbound(again))[0]!.externalId).toBe(muxWebhooks.events(inbound(delivery))[0]!.externalId);
  });
});
