import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CALLBACK_MAX_AGE_SECONDS, callbackHmac, verifyCallback } from './callback-hmac.js';
import { shopifyRateSignals, shopifyTokenAnswer } from './index.js';
import { linksToProxy } from './links.js';

/** The worked example of Shopify's OAuth documentation (app secret `hush`). */
const DOCS_QUERY = { code: '0907a61c0c8d55e99db179b68161bc00', shop: 'some-shop.myshopify.com', state: '0.6784241404160823', timestamp: '1337178173' };
const DOCS_HMAC = '700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf';
const at = (seconds: number) => new Date(seconds * 1000);

describe('callback HMAC', () => {
  it("matches the documentation's vector, whatever the parameter order, without hmac or signature", () => {
    expect(callbackHmac(DOCS_QUERY, 'hush')).toBe(DOCS_HMAC);
    const shuffled = { timestamp: DOCS_QUERY.timestamp, state: DOCS_QUERY.state, hmac: DOCS_HMAC, signature: 'legacy', shop: DOCS_QUERY.shop, code: DOCS_QUERY.code };
    expect(callbackHmac(shuffled, 'hush')).toBe(DOCS_HMAC);
  });

  it('accepts a fresh callback signed with the client secret (any hex case)', () => {
    const now = at(Number(DOCS_QUERY.timestamp) + 5);
    expect(verifyCallback({ ...DOCS_QUERY, hmac: DOCS_HMAC }, 'hush', now)).toBe(true);
    expect(verifyCallback({ ...DOCS_QUERY, hmac: DOCS_HMAC.toUpperCase() }, 'hush', now)).toBe(true);
  });

  it('refuses a wrong secret, a changed parameter, a missing or malformed hmac', () => {
    const now = at(Number(DOCS_QUERY.timestamp));
    expect(verifyCallback({ ...DOCS_QUERY, hmac: DOCS_HMAC }, 'not-hush', now)).toBe(false);
    expect(verifyCallback({ ...DOCS_QUERY, shop: 'other-shop.myshopify.com', hmac: DOCS_HMAC }, 'hush', now)).toBe(false);
    expect(verifyCallback({ ...DOCS_QUERY, extra: '1', hmac: DOCS_HMAC }, 'hush', now)).toBe(false);
    expect(verifyCallback(DOCS_QUERY, 'hush', now)).toBe(false);
    expect(verifyCallback({ ...DOCS_QUERY, hmac: DOCS_HMAC.slice(0, 63) }, 'hush', now)).toBe(false);
  });

  // A state like `a+b/c=` arrives decoded (`+` is a space). The official libraries sign the
  // form-encoded pairs: @shopify/shopify-api 13 and shopify-api-ruby write `a+b%2Fc%3D`.
  const special = { ...DOCS_QUERY, state: 'a b/c=', host: 'YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvc29tZS1zaG9w' };
  const sign = (message: string) => createHmac('sha256', 'hush').update(message).digest('hex');
  const formEncoded = `code=${DOCS_QUERY.code}&host=${special.host}&shop=some-shop.myshopify.com&state=a+b%2Fc%3D&timestamp=${DOCS_QUERY.timestamp}`;

  it('accepts a callback with reserved characters signed over the form-encoded pairs, a space written + or %20', () => {
    const now = at(Number(DOCS_QUERY.timestamp));
    // Parsed the way Keyhold's HTTP server parses the callback's query.
    const parsed = Object.fromEntries(new URLSearchParams(`state=a+b/c=&code=${DOCS_QUERY.code}&shop=some-shop.myshopify.com&timestamp=${DOCS_QUERY.timestamp}&host=${special.host}`));
    expect(parsed).toEqual(special);
    expect(verifyCallback({ ...parsed, hmac: sign(formEncoded) }, 'hush', now)).toBe(true);
    expect(verifyCallback({ ...parsed, hmac: sign(formEncoded.replace('a+b', 'a%20b')) }, 'hush', now)).toBe(true);
  });

  it('refuses the same callback signed over the raw decoded values, and a state changed after signing', () => {
    const now = at(Number(DOCS_QUERY.timestamp));
    const raw = `code=${DOCS_QUERY.code}&host=${special.host}&shop=some-shop.myshopify.com&state=a b/c=&timestamp=${DOCS_QUERY.timestamp}`;
    expect(verifyCallback({ ...special, hmac: sign(raw) }, 'hush', now)).toBe(false);
    expect(verifyCallback({ ...special, state: 'a+b/c=', hmac: sign(formEncoded) }, 'hush', now)).toBe(false);
    // A `&` inside a value cannot pose as a parameter boundary.
    const merged = { code: `${DOCS_QUERY.code}&host=${special.host}`, shop: special.shop, state: special.state, timestamp: special.timestamp };
    expect(verifyCallback({ ...merged, hmac: sign(formEncoded) }, 'hush', now)).toBe(false);
  });

  it('refuses a replayed (old) or future-dated callback', () => {
    const ts = Number(DOCS_QUERY.timestamp);
    const signed = { ...DOCS_QUERY, hmac: DOCS_HMAC };
    expect(verifyCallback(signed, 'hush', at(ts + CALLBACK_MAX_AGE_SECONDS))).toBe(true);
    expect(verifyCallback(signed, 'hush', at(ts + CALLBACK_MAX_AGE_SECONDS + 1))).toBe(false);
    expect(verifyCallback(signed, 'hush', at(ts - CALLBACK_MAX_AGE_SECONDS - 1))).toBe(false);
  });
});

describe('call-limit header', () => {
  const reader = (v: string | undefined) => (name: string) => (name === 'x-shopify-shop-api-call-limit' ? v : undefined);
  it('reads <used>/<bucket> as the calls left in the per-second bucket', () => {
    expect(shopifyRateSignals(reader('32/40'))).toEqual([{ bucket: 'second', remaining: 8 }]);
    expect(shopifyRateSignals(reader('40/40'))).toEqual([{ bucket: 'second', remaining: 0 }]);
  });
  it('ignores an absent or malformed header', () => {
    for (const v of [undefined, '', '32', '32/', 'a/40', '32/40/1']) expect(shopifyRateSignals(reader(v))).toEqual([]);
  });
});

describe('token answer', () => {
  it('gives a successful answer without token_type the bearer type, and leaves errors alone', () => {
    expect(shopifyTokenAnswer({ status: 200, body: { access_token: 'shpat_x', scope: 'read_orders' } })).toEqual({ status: 200, body: { access_token: 'shpat_x', scope: 'read_orders', token_type: 'bearer' } });
    expect(shopifyTokenAnswer({ status: 400, body: { error: 'invalid_request' } })).toEqual({ status: 400, body: { error: 'invalid_request' } });
  });
});

describe('pagination links through the proxy', () => {
  const values = { config: { storeDomain: 'acme.myshopify.com' }, secrets: {} };
  const ctx = { values, upstreamBase: 'https://acme.myshopify.com', proxyBase: 'https://keyhold.example/api/proxy/shopify' };
  it("points the store's next and previous links at Keyhold's proxy, query kept as sent", () => {
    const link = '<https://acme.myshopify.com/admin/api/2025-07/orders.json?page_info=abc&limit=50>; rel="previous", <https://ACME.myshopify.com/admin/api/2025-07/orders.json?page_info=def&limit=50>; rel="next"';
    expect(linksToProxy({ link, 'x-other': 'x' }, ctx)).toEqual({
      'x-other': 'x',
      link: '<https://keyhold.example/api/proxy/shopify/admin/api/2025-07/orders.json?page_info=abc&limit=50>; rel="previous", <https://keyhold.example/api/proxy/shopify/admin/api/2025-07/orders.json?page_info=def&limit=50>; rel="next"',
    });
  });
  it('leaves links to other hosts (or over plain http) and answers without links alone', () => {
    const other = '<https://other.myshopify.com/admin/api/2025-07/orders.json?page_info=x>; rel="next", <http://acme.myshopify.com/x>; rel="previous"';
    expect(linksToProxy({ link: other }, ctx)).toEqual({ link: other });
    expect(linksToProxy({ 'content-type': 'application/json' }, ctx)).toEqual({ 'content-type': 'application/json' });
    const base = { ...ctx, upstreamBase: 'http://127.0.0.1:4000/shopify/acme.myshopify.com' };
    expect(linksToProxy({ link: '<http://127.0.0.1:4000/shopify/acme.myshopify.com/admin/api/2025-07/orders.json?page_info=y>; rel="next"' }, base).link)
      .toBe('<https://keyhold.example/api/proxy/shopify/admin/api/2025-07/orders.json?page_info=y>; rel="next"');
  });
});
