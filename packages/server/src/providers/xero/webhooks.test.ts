import { createHmac } from 'node:crypto';
import { xeroIntentToReceive, xeroWebhookDelivery, xeroWebhookEvent } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import type { InboundWebhook } from '../adapter.js';
import { xeroWebhooks as hooks } from './webhooks.js';

const KEY = 'xero-webhook-key-current';
const OLD_KEY = 'xero-webhook-key-previous';
const NOW = new Date('2026-11-27T02:00:00Z');
const ORG_A = '11111111-aaaa-4aaa-8aaa-111111111111';
const ORG_B = '22222222-bbbb-4bbb-8bbb-222222222222';

/** Signed with node:crypto directly, independent of both the adapter and the sandbox. */
const nodeSign = (body: string) => createHmac('sha256', KEY).update(body).digest('base64');

const post = (d: { headers: Record<string, string>; body: string }, over: Partial<InboundWebhook> = {}): InboundWebhook =>
  ({ method: 'POST', raw: Buffer.from(d.body), headers: d.headers, query: {}, ...over });

const invoiceA = xeroWebhookEvent({ tenantId: ORG_A, resourceId: 'inv-1', category: 'INVOICE', type: 'UPDATE', at: NOW });
const contactB = xeroWebhookEvent({ tenantId: ORG_B, resourceId: 'con-9', category: 'CONTACT', type: 'CREATE', at: NOW });

describe('Xero app webhooks', () => {
  it('accepts a delivery signed with the webhook key and splits it by organisation', () => {
    const req = post(xeroWebhookDelivery(KEY, [invoiceA, contactB]));
    expect(hooks.verify(req, [KEY], NOW)).toEqual({ ok: true });
    expect(hooks.handshake!(req, {})).toBeNull();
    const events = hooks.events(req);
    expect(events.map((e) => [e.routingKey, e.topic, e.effect])).toEqual([
      [ORG_A, 'INVOICE.UPDATE', 'changed'],
      [ORG_B, 'CONTACT.CREATE', 'changed'],
    ]);
    expect(events[0]!.payload).toEqual(invoiceA);
    expect(events[0]!.externalId).not.toBe(events[1]!.externalId);
    expect(JSON.stringify(events)).not.toContain(KEY);
  });

  it('gives a redelivered event the same external id although the delivery (entropy, sequence) differs', () => {
    const first = hooks.events(post(xeroWebhookDelivery(KEY, [invoiceA], { entropy: 'AAAA', firstEventSequence: 1 })));
    const again = hooks.events(post(xeroWebhookDelivery(KEY, [contactB, invoiceA], { entropy: 'BBBB', firstEventSequence: 7 })));
    expect(again[1]!.externalId).toBe(first[0]!.externalId);
    // A later change of the same invoice is a new event.
    const later = xeroWebhookEvent({ tenantId: ORG_A, resourceId: 'inv-1', at: new Date(NOW.getTime() + 1) });
    expect(hooks.events(post(xeroWebhookDelivery(KEY, [later])))[0]!.externalId).not.toBe(first[0]!.externalId);
  });

  it('refuses a tampered body, another key, a missing header and an unconfigured key', () => {
    const d = xeroWebhookDelivery(KEY, [invoiceA]);
    expect(hooks.verify(post({ ...d, body: d.body.replace('inv-1', 'inv-2') }), [KEY], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post(d), ['another-key'], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post({ ...d, headers: { 'content-type': 'application/json' } }), [KEY], NOW)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(hooks.verify(post(d), [], NOW)).toEqual({ ok: false, reason: 'no_secret' });
    expect(hooks.verify(post(d), [''], NOW)).toEqual({ ok: false, reason: 'no_secret' });
    // The same HMAC written in hex is not Xero's signature.
    const hex = Buffer.from(d.headers['x-xero-signature']!, 'base64').toString('hex');
    expect(hooks.verify(post({ ...d, headers: { 'x-xero-signature': hex } }), [KEY], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('accepts either key during a rotation', () => {
    expect(hooks.verify(post(xeroWebhookDelivery(OLD_KEY, [invoiceA])), [KEY, OLD_KEY], NOW)).toEqual({ ok: true });
    expect(hooks.verify(post(xeroWebhookDelivery(KEY, [invoiceA])), [KEY, OLD_KEY], NOW)).toEqual({ ok: true });
  });

  it('passes intent to receive: a correctly signed probe gets 200 with no body, a wrongly signed one is refused (401)', () => {
    const good = post(xeroIntentToReceive(KEY, { signed: true }));
    expect(hooks.verify(good, [KEY], NOW)).toEqual({ ok: true });
    expect(hooks.handshake!(good, {})).toEqual({ status: 200, body: '' });
    const bad = post(xeroIntentToReceive(KEY, { signed: false }));
    expect(hooks.verify(bad, [KEY], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('drops subscription events (tenantId is the app, not an organisation) and keeps the rest of the delivery', () => {
    const sub = xeroWebhookEvent({ tenantId: 'app-id', resourceId: 'sub-1', category: 'SUBSCRIPTION', at: NOW });
    const mixed = post(xeroWebhookDelivery(KEY, [sub, invoiceA]));
    expect(hooks.verify(mixed, [KEY], NOW)).toEqual({ ok: true });
    expect(hooks.events(mixed).map((e) => [e.topic, e.routingKey])).toEqual([['INVOICE.UPDATE', invoiceA.tenantId]]);
    const only = post(xeroWebhookDelivery(KEY, [sub]));
    expect(hooks.handshake!(only, {})).toBeNull(); // not the intent-to-receive probe
    expect(hooks.events(only)).toEqual([]);
  });

  it('verifies the bytes without parsing them, and refuses a verified body Xero would never send as malformed (400)', () => {
    const body = 'not json';
    const req = post({ headers: { 'x-xero-signature': xeroWebhookDelivery(KEY, []).headers['x-xero-signature']! }, body });
    const signed = post({ headers: { 'x-xero-signature': nodeSign(body) }, body });
    expect(hooks.verify(req, [KEY], NOW).ok).toBe(false);
    expect(hooks.verify(signed, [KEY], NOW)).toEqual({ ok: true });
    expect(hooks.handshake!(signed, {})).toBeNull();
    expect(() => hooks.events(signed)).toThrow(AppError);
    const noTenant = JSON.stringify({ events: [{ ...invoiceA, tenantId: undefined }], entropy: 'x' });
    expect(() => hooks.events(post({ headers: {}, body: noTenant }))).toThrow(/tenantId/);
  });
});
