import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../domains/catalog/catalog.js';
import { adapterProblems } from '../check.js';
import { derivedEventId, hmacMatchesAny, verifyBodyHmac } from './app-webhook.js';

const APP_LEVEL = ['xero', 'quickbooks', 'messenger', 'slack'];

describe('app-level webhook helpers', () => {
  it('the catalog webhook schemes of Xero, QuickBooks, Messenger and Slack are implemented by their adapters, at app level', () => {
    const providers = loadCatalog().list().filter((p) => APP_LEVEL.includes(p.id));
    expect(providers).toHaveLength(4);
    expect(adapterProblems(providers, { webhooks: true })).toEqual([]);
  });

  it('matches an HMAC under any of the secrets, in the stated encoding only', () => {
    const body = Buffer.from('{"a":1}');
    const b64 = createHmac('sha256', 's2').update(body).digest('base64');
    const hex = createHmac('sha256', 's2').update(body).digest('hex');
    expect(hmacMatchesAny(body, b64, ['s1', 's2'], 'base64')).toBe(true);
    expect(hmacMatchesAny(body, hex, ['s1', 's2'], 'hex')).toBe(true);
    expect(hmacMatchesAny(body, hex, ['s1', 's2'], 'base64')).toBe(false);
    expect(hmacMatchesAny(body, b64, ['s1'], 'base64')).toBe(false);
    // Truncated or padded-with-junk signatures never reach the comparison.
    expect(hmacMatchesAny(body, b64.slice(0, 20), ['s2'], 'base64')).toBe(false);
    expect(hmacMatchesAny(body, `${hex}00`, ['s2'], 'hex')).toBe(false);
    expect(hmacMatchesAny(body, `${b64.slice(0, 43)}!`, ['s2'], 'base64')).toBe(false);
  });

  it('says no_secret before looking at the request, and never accepts an empty secret', () => {
    const body = Buffer.from('x');
    const emptyKeySig = createHmac('sha256', '').update(body).digest('base64');
    expect(verifyBodyHmac(body, emptyKeySig, [''], 'base64')).toEqual({ ok: false, reason: 'no_secret' });
    expect(verifyBodyHmac(body, undefined, [], 'base64')).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('derives ids that do not collide when parts shift between fields', () => {
    expect(derivedEventId('ab', 'c')).not.toBe(derivedEventId('a', 'bc'));
    expect(derivedEventId('a', undefined)).toBe(derivedEventId('a', ''));
    expect(derivedEventId('a', 'b')).toBe(derivedEventId('a', 'b'));
  });
});
