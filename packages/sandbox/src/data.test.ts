import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox, unleashedSignature } from './index.js';

let s: Sandbox;
beforeAll(async () => {
  s = await createSandbox();
  s.oauth.registerApp('xero', { clientId: 'app', clientSecret: 'secret', redirectUri: 'http://k/cb' });
});
afterAll(() => s.close());

const xeroGrant = () => {
  const g = s.oauth.mintGrant('xero', { clientId: 'app' });
  return { headers: { authorization: `Bearer ${g.accessToken}`, 'xero-tenant-id': g.ids.xeroTenantId! } };
};

describe('Xero invoices and limits', () => {
  it('lists ACCREC/ACCPAY invoices of an organisation the token covers, with the limit headers', async () => {
    const g = xeroGrant();
    const res = await fetch(`${s.url}/xero/api.xro/2.0/Invoices?where=${encodeURIComponent('Type=="ACCPAY"')}`, g);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-minlimit-remaining')).toBe('59');
    expect(res.headers.get('x-daylimit-remaining')).toBe('4999');
    const body = (await res.json()) as { Invoices: Array<{ Type: string }> };
    expect(body.Invoices.length).toBeGreaterThan(0);
    expect(body.Invoices.every((i) => i.Type === 'ACCPAY')).toBe(true);
    const other = await fetch(`${s.url}/xero/api.xro/2.0/Invoices`, { headers: { ...g.headers, 'xero-tenant-id': crypto.randomUUID() } });
    expect(other.status).toBe(403);
  });

  it('the 61st call in a minute is 429 with Retry-After and X-Rate-Limit-Problem: minute', async () => {
    const g = xeroGrant();
    const statuses = [];
    for (let i = 0; i < 61; i++) statuses.push((await fetch(`${s.url}/xero/api.xro/2.0/Invoices`, g)).status);
    expect(statuses.filter((x) => x === 200)).toHaveLength(60);
    const last = await fetch(`${s.url}/xero/api.xro/2.0/Invoices`, g);
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last.headers.get('x-rate-limit-problem')).toBe('minute');
  });

  it('a sixth call in flight at once is 429 concurrent', async () => {
    const g = xeroGrant();
    s.fail('xero', { latencyMs: 300, path: '/api.xro/' });
    try {
      const all = await Promise.all(Array.from({ length: 6 }, () => fetch(`${s.url}/xero/api.xro/2.0/Invoices`, g)));
      const limited = all.filter((r) => r.status === 429);
      expect(limited).toHaveLength(1);
      expect(limited[0]!.headers.get('x-rate-limit-problem')).toBe('concurrent');
    } finally {
      s.heal('xero');
    }
  });
});

describe('Shopify leaky bucket', () => {
  it('counts up to 40/40, then 429 with Retry-After; it leaks 2 per second', async () => {
    const store = `bucket-${Date.now()}.myshopify.com`;
    s.seed('shopify', { accessToken: 'shpat_bucket', storeDomain: store });
    const call = () => fetch(`${s.url}/shopify/${store}/admin/api/2025-07/shop.json`, { headers: { 'x-shopify-access-token': 'shpat_bucket' } });
    let last = '';
    for (let i = 0; i < 40; i++) {
      const r = await call();
      expect(r.status).toBe(200);
      last = r.headers.get('x-shopify-shop-api-call-limit') ?? '';
    }
    expect(last).toMatch(/^(39|40)\/40$/);
    const over = await call();
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1.0');
    await new Promise((r) => setTimeout(r, 600));
    expect((await call()).status).toBe(200);
  });
});

describe('API-key providers', () => {
  it('Unleashed stock on hand needs the HMAC of this query', async () => {
    const apiId = crypto.randomUUID();
    s.seed('unleashed', { apiId, apiKey: 'unleashed-key' });
    const q = '?pageSize=10';
    const good = await fetch(`${s.url}/unleashed/StockOnHand${q}`, { headers: { 'api-auth-id': apiId, 'api-auth-signature': unleashedSignature('unleashed-key', q) } });
    expect(good.status).toBe(200);
    expect(((await good.json()) as { Items: unknown[] }).Items.length).toBeGreaterThan(0);
    const bad = await fetch(`${s.url}/unleashed/StockOnHand${q}`, { headers: { 'api-auth-id': apiId, 'api-auth-signature': unleashedSignature('unleashed-key', '') } });
    expect(bad.status).toBe(403);
  });

  it('Stripe: form-encoded create, list and payment intents; unknown key 401', async () => {
    s.seed('stripe', { apiKey: 'sk_test_data' });
    const auth = { authorization: 'Bearer sk_test_data', 'content-type': 'application/x-www-form-urlencoded' };
    const created = (await (await fetch(`${s.url}/v1/customers`, { method: 'POST', headers: auth, body: 'email=a%40b.example&metadata[plan]=pro' })).json()) as { id: string; metadata: { plan: string } };
    expect(created.id).toMatch(/^cus_/);
    expect(created.metadata.plan).toBe('pro');
    const list = (await (await fetch(`${s.url}/stripe/v1/customers?limit=5`, { headers: auth })).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((c) => c.id)).toContain(created.id);
    const pi = await fetch(`${s.url}/v1/payment_intents`, { method: 'POST', headers: auth, body: 'amount=500&currency=eur' });
    expect(await pi.json()).toMatchObject({ object: 'payment_intent', amount: 500, currency: 'eur' });
    expect((await fetch(`${s.url}/v1/customers`, { headers: { authorization: 'Bearer sk_test_wrong' } })).status).toBe(401);
  });

  it('Resend allows 5 sends per second (ratelimit headers), then 429', async () => {
    s.seed('resend', { apiKey: 're_limit' });
    const send = () => fetch(`${s.url}/resend/emails`, { method: 'POST', headers: { authorization: 'Bearer re_limit', 'content-type': 'application/json' }, body: JSON.stringify({ from: 'a@x.example', to: 'b@y.example', subject: 'Hi', text: 'Hello' }) });
    const all = [];
    for (let i = 0; i < 6; i++) all.push(await send());
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(all[0]!.headers.get('ratelimit-limit')).toBe('5');
  });

  it('Amazon FBA inventory: token bucket of 2 with x-amzn-RateLimit-Limit', async () => {
    s.oauth.registerApp('amazon-sp-api', { clientId: 'amzn', clientSecret: 'secret', redirectUri: 'http://k/cb' });
    const g = s.oauth.mintGrant('amazon-sp-api', { clientId: 'amzn' });
    const call = () => fetch(`${s.url}/amazon-sp-api/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=ATVPDKIKX0DER&marketplaceIds=ATVPDKIKX0DER`, { headers: { 'x-amz-access-token': g.accessToken } });
    const first = await call();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-amzn-ratelimit-limit')).toBe('2.0');
    await call();
    expect((await call()).status).toBe(429);
  });
});
