import { createHmac } from 'node:crypto';
import { messengerEntry, messengerMessage, messengerSubscribeQuery, messengerWebhookDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import type { InboundWebhook } from '../adapter.js';
import { messengerWebhooks as hooks } from './webhooks.js';

const SECRET = 'meta-app-secret-current';
const OLD_SECRET = 'meta-app-secret-previous';
const VERIFY_TOKEN = 'operator-chosen-verify-token';
const NOW = new Date('2026-11-27T02:00:00Z');
const PAGE_A = '104000000000001';
const PAGE_B = '104000000000002';

const post = (d: { headers: Record<string, string>; body: string }): InboundWebhook => ({ method: 'POST', raw: Buffer.from(d.body), headers: d.headers, query: {} });
const get = (query: Record<string, string>): InboundWebhook => ({ method: 'GET', raw: Buffer.alloc(0), headers: {}, query });

const hello = messengerMessage({ pageId: PAGE_A, senderId: 'psid-1', text: 'Grüße, café', mid: 'm_AAA', at: NOW });
const deliveryReceipt = { sender: { id: 'psid-2' }, recipient: { id: PAGE_B }, timestamp: NOW.getTime(), delivery: { mids: ['m_OUT1'], watermark: NOW.getTime() } };
const batch = () => messengerWebhookDelivery(SECRET, [messengerEntry(PAGE_A, NOW, [hello]), messengerEntry(PAGE_B, NOW, [deliveryReceipt])]);

describe('Messenger app webhooks', () => {
  it('accepts a batch for two Pages, signed over the escaped bytes Meta sends, and splits it per messaging item', () => {
    const d = batch();
    expect(d.body).toContain('Gr\\u00fc\\u00dfe');
    expect(hooks.verify(post(d), [SECRET], NOW)).toEqual({ ok: true });
    const events = hooks.events(post(d));
    expect(events.map((e) => [e.routingKey, e.topic])).toEqual([
      [PAGE_A, 'messages'],
      [PAGE_B, 'message_deliveries'],
    ]);
    expect(events[0]!.externalId).toBe('m_AAA');
    expect(events[0]!.payload).toMatchObject({ pageId: PAGE_A, item: { message: { text: 'Grüße, café' } } });
    // A delivery receipt has no id of its own: derived, and the same when Meta sends it again.
    expect(events[1]!.externalId).toMatch(/^derived:/);
    expect(hooks.events(post(batch()))[1]!.externalId).toBe(events[1]!.externalId);
  });

  it('cross-checks the signature with node:crypto directly (sha256=<hex> of the raw body)', () => {
    const body = '{"object":"page","entry":[]}';
    const req = post({ headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }, body });
    expect(hooks.verify(req, [SECRET], NOW)).toEqual({ ok: true });
    expect(hooks.events(req)).toEqual([]);
  });

  it('verifies the published example of the same X-Hub-Signature-256 scheme (docs.github.com, "Validating webhook deliveries")', () => {
    const req = post({ headers: { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' }, body: 'Hello, World!' });
    expect(hooks.verify(req, ["It's a Secret to Everybody"], NOW)).toEqual({ ok: true });
    expect(hooks.verify(req, ["It's a secret to everybody"], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a tampered body, another secret, a sha1 or missing signature and an unconfigured secret; accepts both secrets in a rotation', () => {
    const d = batch();
    expect(hooks.verify(post({ ...d, body: d.body.replace('m_AAA', 'm_BBB') }), [SECRET], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post(d), ['other'], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(d.body).digest('hex')}`;
    expect(hooks.verify(post({ ...d, headers: { 'x-hub-signature-256': sha1 } }), [SECRET], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post({ ...d, headers: { 'x-hub-signature': sha1 } }), [SECRET], NOW)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(hooks.verify(post(d), [], NOW)).toEqual({ ok: false, reason: 'no_secret' });
    expect(hooks.verify(post(messengerWebhookDelivery(OLD_SECRET, [])), [SECRET, OLD_SECRET], NOW)).toEqual({ ok: true });
  });

  it("answers Meta's verification request with the challenge as text only when the verify token matches (else 403)", () => {
    expect(hooks.handshake!(get(messengerSubscribeQuery(VERIFY_TOKEN, '1158201444')), { verifyToken: VERIFY_TOKEN })).toEqual({ status: 200, body: '1158201444', contentType: 'text/plain' });
    expect(hooks.handshake!(get(messengerSubscribeQuery('guess', '1158201444')), { verifyToken: VERIFY_TOKEN })).toEqual({ status: 403 });
    expect(hooks.handshake!(get(messengerSubscribeQuery(`${VERIFY_TOKEN}x`, '1')), { verifyToken: VERIFY_TOKEN })).toEqual({ status: 403 });
    expect(hooks.handshake!(get({ ...messengerSubscribeQuery(VERIFY_TOKEN, '1'), 'hub.mode': 'unsubscribe' }), { verifyToken: VERIFY_TOKEN })).toEqual({ status: 403 });
    // No verify token configured: nothing matches, not even an empty one.
    expect(hooks.handshake!(get(messengerSubscribeQuery('', '1')), {})).toEqual({ status: 403 });
    expect(hooks.handshake!(post(batch()), { verifyToken: VERIFY_TOKEN })).toBeNull();
  });

  it('turns Page changes into events named by their field, and echoes and postbacks into their own topics', () => {
    const at = NOW.getTime();
    const d = messengerWebhookDelivery(SECRET, [
      { id: PAGE_A, time: at, changes: [{ field: 'feed', value: { item: 'status', verb: 'add' } }] },
      messengerEntry(PAGE_B, NOW, [
        { sender: { id: PAGE_B }, recipient: { id: 'psid-3' }, timestamp: at, message: { mid: 'm_ECHO', is_echo: true, text: 'hi' } },
        { sender: { id: 'psid-3' }, recipient: { id: PAGE_B }, timestamp: at, postback: { mid: 'm_PB', title: 'Start', payload: 'START' } },
      ]),
    ]);
    expect(hooks.events(post(d)).map((e) => [e.routingKey, e.topic, e.externalId.startsWith('derived:') ? 'derived' : e.externalId])).toEqual([
      [PAGE_A, 'feed', 'derived'],
      [PAGE_B, 'message_echoes', 'm_ECHO'],
      [PAGE_B, 'messaging_postbacks', 'm_PB'],
    ]);
  });

  it('refuses a verified body without entries as malformed (400)', () => {
    expect(() => hooks.events(post({ headers: {}, body: '{"object":"page"}' }))).toThrow(/entry/);
    expect(() => hooks.events(post({ headers: {}, body: '{"object":"page","entry":[{"time":1}]}' }))).toThrow(/id/);
  });
});
