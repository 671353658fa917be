import { shopifyWebhookDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import type { InboundWebhook } from '../adapter.js';
import { shopifyEventId, shopifyWebhooks } from './webhooks.js';

const SECRET = 'shpss_app_client_secret';
const now = new Date();
const asRequest = (d: { headers: Record<string, string>; body: Buffer }, raw = d.body): InboundWebhook => ({ method: 'POST', raw, headers: d.headers, query: {} });
const delivery = (over: Partial<Parameters<typeof shopifyWebhookDelivery>[0]> = {}) =>
  shopifyWebhookDelivery({ secret: SECRET, shop: 'Acme.myshopify.com', topic: 'orders/create', body: { id: 4711 }, eventId: 'ev-1', ...over });

describe('Shopify inbound webhooks', () => {
  it('a delivery signed with the client secret is accepted and names its store, topic and event', () => {
    const d = delivery();
    expect(shopifyWebhooks.verify(asRequest(d), [SECRET], now)).toEqual({ ok: true });
    expect(shopifyWebhooks.events(asRequest(d))).toEqual([
      { externalId: shopifyEventId('orders/create', d.body), topic: 'orders/create', routingKey: 'acme.myshopify.com', payload: { id: 4711 }, effect: 'changed' },
    ]);
  });

  it('app/uninstalled means the connection is disconnected', () => {
    expect(shopifyWebhooks.events(asRequest(delivery({ topic: 'app/uninstalled', body: { myshopify_domain: 'acme.myshopify.com' } })))[0]!.effect).toBe('disconnected');
  });

  it("app/uninstalled under another store's header is refused: the signature covers the body, not the headers", () => {
    // A body Shopify signed for the sender's own store, replayed with the victim's store header.
    const forged = delivery({ topic: 'app/uninstalled', body: { myshopify_domain: 'attacker.myshopify.com' } });
    expect(shopifyWebhooks.verify(asRequest(forged), [SECRET], now)).toEqual({ ok: true });
    expect(() => shopifyWebhooks.events(asRequest(forged))).toThrow(/another store/);
    expect(() => shopifyWebhooks.events(asRequest(delivery({ topic: 'app/uninstalled', body: {} })))).toThrow(/another store/);
  });

  it('during a rotation either secret is accepted', () => {
    expect(shopifyWebhooks.verify(asRequest(delivery()), ['new-secret', SECRET], now)).toEqual({ ok: true });
  });

  it('a tampered body, a wrong secret, a missing or garbled header, no secret: refused', () => {
    const d = delivery();
    const tampered = Buffer.from(d.body.toString().replace('4711', '4712'));
    expect(shopifyWebhooks.verify(asRequest(d, tampered), [SECRET], now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(shopifyWebhooks.verify(asRequest(d), ['wrong'], now)).toEqual({ ok: false, reason: 'bad_signature' });
    const { 'x-shopify-hmac-sha256': _, ...unsigned } = d.headers;
    expect(shopifyWebhooks.verify({ ...asRequest(d), headers: unsigned }, [SECRET], now)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(shopifyWebhooks.verify({ ...asRequest(d), headers: { ...d.headers, 'x-shopify-hmac-sha256': 'not base64!' } }, [SECRET], now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(shopifyWebhooks.verify(asRequest(d), [], now)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('a redelivery of the same event has the same external id', () => {
    const a = shopifyWebhooks.events(asRequest(delivery({ eventId: 'same' })))[0]!;
    const b = shopifyWebhooks.events(asRequest(delivery({ eventId: 'same' })))[0]!;
    expect(a.externalId).toBe(b.externalId);
  });

  it('the external id comes from the signed body (and the topic), never from the unsigned id headers', () => {
    const a = shopifyWebhooks.events(asRequest(delivery({ eventId: 'one', webhookId: 'w-one' })))[0]!;
    const b = shopifyWebhooks.events(asRequest(delivery({ eventId: 'two', webhookId: 'w-two' })))[0]!;
    expect(a.externalId).toBe(b.externalId);
    expect(shopifyWebhooks.events(asRequest(delivery({ body: { id: 4712 } })))[0]!.externalId).not.toBe(a.externalId);
    expect(shopifyWebhooks.events(asRequest(delivery({ topic: 'orders/paid' })))[0]!.externalId).not.toBe(a.externalId);
  });
});

describe("cross-check with Shopify's own library (@shopify/shopify-api webhooks.validate)", () => {
  it("accepts the sandbox's deliveries and refuses a tampered one, as Keyhold's adapter does", async () => {
    await import('@shopify/shopify-api/adapters/node');
    const { ApiVersion, LogSeverity, shopifyApi } = await import('@shopify/shopify-api');
    const { IncomingMessage } = await import('node:http');
    const { Socket } = await import('node:net');
    const lib = shopifyApi({ apiKey: 'k', apiSecretKey: SECRET, scopes: ['read_orders'], hostName: 'keyhold.test', apiVersion: ApiVersion.July25, isEmbeddedApp: false, logger: { level: LogSeverity.Error } });
    const validate = async (d: { headers: Record<string, string>; body: Buffer }) => {
      const rawRequest = new IncomingMessage(new Socket());
      rawRequest.method = 'POST';
      rawRequest.url = '/api/webhooks/shopify';
      rawRequest.headers = d.headers;
      return (await lib.webhooks.validate({ rawBody: d.body.toString('utf8'), rawRequest })).valid;
    };
    const d = delivery();
    expect(await validate(d)).toBe(true);
    expect(shopifyWebhooks.verify(asRequest(d), [SECRET], now).ok).toBe(true);
    const tampered = { headers: d.headers, body: Buffer.from(d.body.toString().replace('4711', '4712')) };
    expect(await validate(tampered)).toBe(false);
    expect(shopifyWebhooks.verify(asRequest(tampered), [SECRET], now).ok).toBe(false);
  });
});
