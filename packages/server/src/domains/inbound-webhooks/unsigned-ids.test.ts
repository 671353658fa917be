import { createHmac, randomBytes } from 'node:crypto';
import { customDelivery, shopifyWebhookDelivery, wiseDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { CASES, SHOPIFY_SECRET, type Sent, h, now, post, rowsOf, uid, useWebhookHarness, wiseKeys } from '../../test-support/webhook-cases.js';

/**
 * The dedupe key must come from what the provider signed. Where a scheme's event id travels in a
 * header the signature does not cover, whoever captured one signed delivery could resend it under
 * fresh ids and have it stored (and acted on) again: each such provider is replayed that way here
 * and must keep one row, while its own retries (same body, same signature) stay one row too.
 */
useWebhookHarness();

const storedHeaders = (tenantId: string) =>
  h.t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').select(['external_id', 'headers']).execute());
const withHeaders = (d: Sent, over: Record<string, string>): Sent => ({ body: d.body, headers: { ...d.headers, ...over } });

async function connectCustom(acct: Account, config: Record<string, string>) {
  const secret = `cus-${randomBytes(16).toString('hex')}`;
  const res = await h.t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: 'custom', apiKey: `k-${uid()}`, label: `c${uid()}`, additionalConfig: { baseUrl: 'https://api.example.com', headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}', webhookSecret: secret, ...config } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { url: new URL(res.json().data.webhook_url).pathname, secret };
}

describe('event ids the signature does not cover', () => {
  it('Shopify: a captured delivery resent with fresh X-Shopify-Event-Id and X-Shopify-Webhook-Id is still one row', async () => {
    const acct = await signup(h.t.app);
    const conn = await CASES.shopify!.connect(acct);
    const d = shopifyWebhookDelivery({ secret: SHOPIFY_SECRET, shop: conn.key, topic: 'orders/create', body: { id: 4711, updated_at: now().toISOString() }, eventId: 'evt-original' });
    expect((await post(conn.url, d)).statusCode).toBe(200);
    expect((await post(conn.url, withHeaders(d, { 'x-shopify-event-id': `evt-${uid()}`, 'x-shopify-webhook-id': `wh-${uid()}` }))).statusCode).toBe(200);
    expect((await post(conn.url, withHeaders(d, { 'x-shopify-event-id': `evt-${uid()}` }))).statusCode).toBe(200);
    const rows = await storedHeaders(acct.tenantId);
    expect(rows).toHaveLength(1);
    // The provider's own id stays visible with the event (descriptive, not the key).
    expect(rows[0]!.headers['x-shopify-event-id']).toBe('evt-original');
  });

  it('Shopify: the same body under another topic is another event (orders/create and orders/paid of one order)', async () => {
    const acct = await signup(h.t.app);
    const conn = await CASES.shopify!.connect(acct);
    const body = { id: 4712, financial_status: 'paid' };
    for (const topic of ['orders/create', 'orders/paid']) {
      expect((await post(conn.url, shopifyWebhookDelivery({ secret: SHOPIFY_SECRET, shop: conn.key, topic, body }))).statusCode).toBe(200);
    }
    expect((await rowsOf(acct.tenantId)).map((r) => r[2]).sort()).toEqual(['orders/create', 'orders/paid']);
  });

  it("Wise: resent with a fresh X-Delivery-Id is one row; Wise's retry (same body, same signature) too; another notification is its own", async () => {
    const acct = await signup(h.t.app);
    const conn = await CASES.wise!.connect(acct);
    const at = now();
    const d = wiseDelivery({ privateKey: wiseKeys.privateKey, event: { deliveryId: 'dlv-original', type: 'transfers#state-change' }, at });
    expect((await post(conn.url, d)).statusCode).toBe(200);
    expect((await post(conn.url, d)).statusCode).toBe(200);
    expect((await post(conn.url, withHeaders(d, { 'x-delivery-id': `dlv-${uid()}` }))).statusCode).toBe(200);
    expect((await post(conn.url, withHeaders(d, { 'x-delivery-id': '' }))).statusCode).toBe(200);
    const rows = await storedHeaders(acct.tenantId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.headers['x-delivery-id']).toBe('dlv-original');
    const next = wiseDelivery({ privateKey: wiseKeys.privateKey, event: { deliveryId: `dlv-${uid()}`, type: 'transfers#state-change', data: { resource: { id: 2 }, current_state: 'funds_converted', occurred_at: at.toISOString() } }, at });
    expect((await post(conn.url, next)).statusCode).toBe(200);
    expect(await storedHeaders(acct.tenantId)).toHaveLength(2);
  });

  it('custom HMAC: a webhook-id header added to a captured delivery names nothing; the body\'s id (else its digest) is the key', async () => {
    const acct = await signup(h.t.app);
    const conn = await connectCustom(acct, {});
    const d = customDelivery({ secret: conn.secret, signing: { mode: 'hmac', header: 'X-Signature', encoding: 'hex' }, event: { id: 'e-body-1', type: 'thing.updated' }, at: now() });
    expect((await post(conn.url, d)).statusCode).toBe(200);
    expect((await post(conn.url, withHeaders(d, { 'webhook-id': `msg_${uid()}` }))).statusCode).toBe(200);
    expect((await post(conn.url, withHeaders(d, { 'webhook-id': `msg_${uid()}` }))).statusCode).toBe(200);
    expect((await rowsOf(acct.tenantId)).map((r) => r[3])).toEqual(['e-body-1']);

    // A body without an id: its digest, whatever id header comes with it.
    const body = JSON.stringify({ type: 'thing.deleted', at: now().toISOString() });
    const signed: Sent = { body, headers: { 'content-type': 'application/json', 'x-signature': createHmac('sha256', conn.secret).update(body).digest('hex') } };
    const extras: Array<Record<string, string>> = [{}, { 'webhook-id': `msg_${uid()}` }, { 'webhook-id': `msg_${uid()}` }];
    for (const extra of extras) expect((await post(conn.url, withHeaders(signed, extra))).statusCode).toBe(200);
    expect(await rowsOf(acct.tenantId)).toHaveLength(2);
  });

  it('custom HMAC: a signature header the tenant named (X-Acme-Digest) is never among the stored headers', async () => {
    const acct = await signup(h.t.app);
    const conn = await connectCustom(acct, { webhookSignatureHeader: 'X-Acme-Digest', webhookSignatureEncoding: 'base64' });
    const d = customDelivery({ secret: conn.secret, signing: { mode: 'hmac', header: 'X-Acme-Digest', encoding: 'base64' }, event: { id: `e-${uid()}`, type: 'thing.updated' }, at: now() });
    expect((await post(conn.url, withHeaders(d, { 'x-acme-request': 'r-1' }))).statusCode).toBe(200);
    const [row] = await storedHeaders(acct.tenantId);
    expect(Object.keys(row!.headers)).toContain('x-acme-request');
    expect(Object.keys(row!.headers)).not.toContain('x-acme-digest');
    expect(JSON.stringify(row!.headers)).not.toContain(d.headers['x-acme-digest']);
  });
});
