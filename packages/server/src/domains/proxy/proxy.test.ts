import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { type Account, addMember, bearer, enrolMfa, signup, createApiKey } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';

let h: Awaited<ReturnType<typeof oauthHarness>>;
const API_KEY_PROVIDERS = ['stripe', 'anthropic', 'mux', 'unleashed', 'resend', 'openai'];
beforeAll(async () => {
  h = await oauthHarness({ scratch: true, breaker: { threshold: 5, cooldownMs: 300 } });
});
afterAll(() => h.close());

const proxy = (acct: { accessToken: string } | string, path: string, init: { method?: string; headers?: Record<string, string>; payload?: string } = {}) =>
  h.t.app.inject({
    method: (init.method ?? 'GET') as 'GET',
    url: `/api/proxy${path}`,
    headers: { ...bearer(typeof acct === 'string' ? acct : acct.accessToken), ...init.headers },
    ...(init.payload !== undefined ? { payload: init.payload } : {}),
  });

/** `verify: false` keeps the save's verify request out of the provider's request counts. */
async function connectApiKey(acct: Account, provider: string, label?: string, opts: { verify?: boolean } = {}) {
  const { body, seed } = credentialsFor(provider);
  h.sandbox.seed(provider, seed);
  const res = await h.t.app.inject({ method: 'POST', url: `/api/api-credentials${opts.verify === false ? '?verify=false' : ''}`, headers: bearer(acct.accessToken), payload: { serviceName: provider, ...body, ...(label ? { label } : {}) } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return seed;
}

describe('proxy: credentials injected per auth mode', () => {
  it('Bearer, x-api-key, Basic and the Unleashed per-request HMAC reach the provider; the answer streams back', async () => {
    const acct = await signup(h.t.app);
    for (const p of API_KEY_PROVIDERS) await connectApiKey(acct, p);
    expect((await proxy(acct, '/stripe/v1/balance')).json()).toMatchObject({ object: 'balance' });
    const anthropic = await proxy(acct, '/anthropic/v1/models', { headers: { 'anthropic-version': '2023-06-01' } });
    expect(anthropic.statusCode, anthropic.body).toBe(200);
    expect((await proxy(acct, '/mux/video/v1/assets?limit=1')).statusCode).toBe(200);
    // The signature covers the query string, so it is computed for this very request.
    expect((await proxy(acct, '/unleashed/Currencies?pageSize=5&page=1')).statusCode).toBe(200);
    expect((await proxy(acct, '/unleashed/Currencies')).statusCode).toBe(200);
  });

  it('OAuth: Bearer + xero-tenant-id; a 401 from the provider triggers one refresh and a retry', async () => {
    const acct = await signup(h.t.app);
    const res = await h.connect(acct, 'xero', { consent: { sandbox_account: `acct-${crypto.randomUUID()}` } });
    expect(res.statusCode).toBe(302);
    expect((await proxy(acct, '/xero/connections')).statusCode).toBe(200);
    // Make the stored access token one the provider no longer accepts (a revoked token, say).
    const xero = h.t.services.catalog.get('xero');
    const row = (await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').selectAll().where('provider', '=', 'xero').executeTakeFirstOrThrow()));
    const secrets = JSON.parse((await h.t.db.withTenant(acct.tenantId, (tx) => h.t.services.vault.decrypt(tx, 'connection.secrets', row.id, row.secrets))).reveal());
    await h.t.services.authorize.saveAccount({ tenantId: acct.tenantId, actor: systemActor }, xero, 'default', { id: row.routing_key, name: 'org', config: row.config }, { accessToken: 'stale-token', refreshToken: secrets.refreshToken, expiresIn: 1800 });
    const before = h.sandbox.oauth.stats().xero.refresh;
    const retried = await proxy(acct, '/xero/connections');
    expect(retried.statusCode).toBe(200);
    expect(h.sandbox.oauth.stats().xero.refresh).toBe(before + 1);
  });

  it('OAuth: Amazon x-amz-access-token, QuickBooks Bearer on its realm path, Shopify per store', async () => {
    const acct = await signup(h.t.app);
    const name = `acct-${crypto.randomUUID()}`;
    for (const p of ['amazon-sp-api', 'quickbooks'] as const) expect((await h.connect(acct, p, { consent: { sandbox_account: name } })).statusCode).toBe(302);
    expect((await proxy(acct, '/amazon-sp-api/sellers/v1/marketplaceParticipations')).statusCode).toBe(200);
    const realm = h.sandbox.oauth.accountIds('quickbooks', name).realmId;
    expect((await proxy(acct, `/quickbooks/v3/company/${realm}/companyinfo/${realm}`)).statusCode).toBe(200);
    const shop = `proxy-${Date.now()}.myshopify.com`;
    h.t.clock.set(Date.now());
    expect((await h.connect(acct, 'shopify', { shop })).statusCode).toBe(302);
    const res = await proxy(acct, '/shopify/admin/api/2025-07/shop.json');
    expect(res.json()).toMatchObject({ shop: { myshopify_domain: shop } });
  });
});

describe('proxy: isolation and safety', () => {
  it("a client's Authorization never reaches the provider; Keyhold headers and cookies stay home", async () => {
    const acct = await signup(h.t.app);
    const seed = await connectApiKey(acct, 'anthropic');
    await proxy(acct, '/anthropic/v1/models', { headers: { 'anthropic-version': '2023-06-01', cookie: 'keyhold_refresh=abc', 'x-keyhold-max-wait': '0', 'x-api-key': 'client-supplied' } });
    const seen = h.sandbox.requests().filter((r) => r.provider === 'anthropic').at(-1)!;
    const headers = (seen as { headers?: Record<string, string> }).headers ?? {};
    expect(headers['x-api-key']).toBe(seed.apiKey);
    expect(headers.authorization).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
    expect(Object.keys(headers).filter((k) => k.startsWith('x-keyhold'))).toEqual([]);
  });

  it("tenant A never reaches tenant B's connection through any path or label trick", async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    const bStripe = await connectApiKey(b, 'stripe', 'billing');
    await connectApiKey(a, 'stripe');
    // B's own verify request (when B saved the key) carried it; what counts is what A's calls send.
    const seenBefore = h.sandbox.requests().length;
    const origin = await h.t.app.listen({ host: '127.0.0.1', port: 0 });
    // Sent byte for byte (no client-side normalisation), as an attacker would.
    const raw = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { port } = new URL(origin);
        const req = httpRequest({ host: '127.0.0.1', port, path: `/api/proxy${path}`, headers: { ...bearer(a.accessToken), ...headers } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const [path, headers] of [
      ['/stripe/v1/balance', { 'x-connection-label': 'billing' }],
      ['/stripe/v1/balance', { 'x-connection-label': "default' or label = 'billing" }],
      ['/stripe/../stripe/v1/balance', { 'x-connection-label': 'billing' }],
      ['/stripe/v1/../../../api/auth/me', {}],
      ['/stripe/%2e%2e/v1/balance', {}],
      ['/stripe//evil.example/v1/balance', {}],
      ['/stripe/v1/..%2fbalance', {}],
      ['/stripe/v1\\..\\balance', {}],
      ['/openai/v1/models', {}],
    ] as const) {
      const res = await raw(path, headers);
      expect([400, 403, 404], `${path} ${res.body}`).toContain(res.status);
    }
    expect((await raw('/stripe/v1/balance')).status).toBe(200);
    // A session ignores X-Keyhold-Tenant: still A's own connection.
    expect((await raw(`/stripe/v1/balance?tenant=${b.tenantId}`, { 'x-keyhold-tenant': b.tenantId })).status).toBe(200);
    const leaked = h.sandbox.requests().slice(seenBefore).filter((r) => JSON.stringify((r as { headers?: unknown }).headers ?? {}).includes(bStripe.apiKey!));
    expect(leaked).toEqual([]);
  });

  it('needs member+ (viewer 403) or an API key with the proxy scope', async () => {
    const acct = await signup(h.t.app);
    await connectApiKey(acct, 'stripe');
    const viewer = await addMember(h.t.app, acct, 'viewer');
    expect((await proxy(viewer, '/stripe/v1/balance')).statusCode).toBe(403);
    const member = await addMember(h.t.app, acct, 'member');
    expect((await proxy(member, '/stripe/v1/balance')).statusCode).toBe(200);
    const key = async (scopes: string[]) => (await createApiKey(h.t.app, h.t.clock, acct, { name: 'k', scopes })).key as string;
    expect((await proxy(await key(['credentials:read']), '/stripe/v1/balance')).statusCode).toBe(403);
    expect((await proxy(await key(['proxy']), '/stripe/v1/balance')).statusCode).toBe(200);
  });
});

const status = async (acct: Account) =>
  (await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').select('status').where('provider', '=', 'openai').executeTakeFirstOrThrow())).status;

describe('proxy: limits and breaker', () => {
  it('refuses over the limit with 429 RATE_LIMITED and Retry-After, or waits when X-Keyhold-Max-Wait allows', async () => {
    const acct = await signup(h.t.app);
    await connectApiKey(acct, 'unleashed'); // 200/hour: a burst of 40, then one every 22.5 s
    const results = [];
    for (let i = 0; i < 41; i++) results.push((await proxy(acct, '/unleashed/Currencies')).statusCode);
    expect(results.filter((s) => s === 200)).toHaveLength(40);
    const limited = await proxy(acct, '/unleashed/Currencies');
    expect([limited.statusCode, limited.json().code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(10);
    // Shopify's bucket (40, one kept as headroom) refills 2 per second: with a wait allowed, the next call goes out ~0.5 s later.
    const store = `wait-${Date.now()}.myshopify.com`;
    const token = `shpat_${crypto.randomUUID().replaceAll('-', '')}`;
    h.sandbox.seed('shopify', { accessToken: token, storeDomain: store });
    await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', apiKey: token, additionalConfig: { storeDomain: store } } });
    // A parallel burst: the bucket refills while it runs, so the bound grows with the time it took.
    const burstStarted = Date.now();
    const burst = await Promise.all(Array.from({ length: 60 }, () => proxy(acct, '/shopify/admin/api/2025-07/shop.json')));
    const refilled = Math.ceil(((Date.now() - burstStarted) / 1000) * 2) + 1;
    const passed = burst.filter((r) => r.statusCode === 200).length;
    expect(passed).toBeGreaterThanOrEqual(39);
    expect(passed).toBeLessThanOrEqual(39 + refilled);
    expect(burst.filter((r) => r.statusCode === 429).length).toBe(60 - passed);
    // What refilled while the burst ran is spent, four calls at a time (more than refill meanwhile
    // even on a slow machine), until Keyhold refuses one. The stopwatch starts when that round was
    // sent: the bucket held less than one token at the refusal, which came later.
    let started = 0;
    for (let round = 0; !started; round++) {
      expect(round, 'the bucket never ran dry').toBeLessThan(20);
      const sentAt = Date.now();
      const answers = await Promise.all(Array.from({ length: 4 }, () => proxy(acct, '/shopify/admin/api/2025-07/shop.json')));
      const refused = (r: (typeof answers)[number]) => r.statusCode === 429 && r.headers['x-keyhold-error'] === 'RATE_LIMITED';
      expect(answers.filter((r) => r.statusCode !== 200 && !refused(r)).map((r) => r.body)).toEqual([]);
      if (answers.some(refused)) started = sentAt;
    }
    // Three calls allowed to wait all go out, paced by the refill (2/s): from less than one token,
    // the third needs two more, so not before 1 s has passed. Keyhold paced them, not Shopify's
    // 429s (which Keyhold would wait out too): Shopify saw each once and accepted it.
    const upstream = () => h.sandbox.requests().filter((r) => r.provider === 'shopify');
    const seenBefore = upstream().length;
    const waited = await Promise.all(Array.from({ length: 3 }, () => proxy(acct, '/shopify/admin/api/2025-07/shop.json', { headers: { 'x-keyhold-max-wait': '3000' } })));
    expect(waited.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(upstream().slice(seenBefore).map((r) => r.status)).toEqual([200, 200, 200]);
    const metrics = await h.t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/keyhold_proxy_rate_limited_total\{provider="unleashed",source="keyhold"\} [1-9]/);
    expect(metrics.body).not.toContain(acct.tenantId);
  });

  it("reacts to the provider's own 429: its Retry-After holds later calls at Keyhold; with a wait allowed they go out after it", async () => {
    const acct = await signup(h.t.app);
    await connectApiKey(acct, 'stripe', undefined, { verify: false });
    h.sandbox.limits.configure('stripe', { windows: [{ name: 'second', limit: 2, windowMs: 1000 }] }); // stricter than the catalog
    try {
      const before = h.sandbox.requests().filter((r) => r.provider === 'stripe').length;
      expect((await proxy(acct, '/stripe/v1/balance')).statusCode).toBe(200);
      expect((await proxy(acct, '/stripe/v1/balance')).statusCode).toBe(200);
      const third = await proxy(acct, '/stripe/v1/balance');
      expect(third.statusCode).toBe(429); // Stripe's own answer, passed through
      expect(third.headers['x-keyhold-error']).toBeUndefined();
      const held = await proxy(acct, '/stripe/v1/balance');
      expect([held.statusCode, held.headers['x-keyhold-error']]).toEqual([429, 'RATE_LIMITED']);
      expect(h.sandbox.requests().filter((r) => r.provider === 'stripe').length - before).toBe(3);
      const waited = await proxy(acct, '/stripe/v1/balance', { headers: { 'x-keyhold-max-wait': '3000' } });
      expect(waited.statusCode).toBe(200);
    } finally {
      h.sandbox.limits.reset();
    }
    const metrics = (await h.t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/keyhold_proxy_rate_limited_total\{provider="stripe",source="provider"\} [1-9]/);
  });

  it("follows Xero's X-MinLimit-Remaining: when the organisation's minute runs out, Keyhold stops sending", async () => {
    const acct = await signup(h.t.app);
    const name = `acct-${crypto.randomUUID()}`;
    expect((await h.connect(acct, 'xero', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    h.sandbox.limits.configure('xero', { windows: [{ name: 'minute', limit: 3, windowMs: 60_000 }] }); // another app used the rest
    try {
      const org = h.sandbox.oauth.accountIds('xero', name).xeroTenantId;
      const before = h.sandbox.requests().filter((r) => r.path.startsWith('/api.xro/') && r.headers['xero-tenant-id'] === org).length;
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await proxy(acct, '/xero/api.xro/2.0/Invoices')).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const reached = h.sandbox.requests().filter((r) => r.path.startsWith('/api.xro/') && r.headers['xero-tenant-id'] === org);
      expect(reached.length - before).toBe(3); // the 4th and 5th were held back by Keyhold
      expect(reached.every((r) => r.status === 200)).toBe(true);
    } finally {
      h.sandbox.limits.reset();
    }
  });

  it('opens the breaker after repeated 5xx (degraded, 503 without calling), probes, and closes on recovery', async () => {
    const acct = await signup(h.t.app);
    await connectApiKey(acct, 'openai');
    h.sandbox.fail('openai', { status: 500 });
    try {
      for (let i = 0; i < 5; i++) expect((await proxy(acct, '/openai/v1/models', { method: 'POST', payload: '{}' })).statusCode).toBe(500);
      const calls = h.sandbox.requests().length;
      const open = await proxy(acct, '/openai/v1/models');
      expect([open.statusCode, open.json().code]).toEqual([503, 'INTEGRATION_UNAVAILABLE']);
      expect(h.sandbox.requests().length).toBe(calls);
      await expect.poll(() => status(acct), { timeout: 5_000 }).toBe('degraded');
      // Still failing when the cooldown ends: the single probe fails and the breaker opens again.
      await new Promise((r) => setTimeout(r, 350));
      expect((await proxy(acct, '/openai/v1/models')).statusCode).toBe(500);
      expect((await proxy(acct, '/openai/v1/models')).statusCode).toBe(503);
    } finally {
      h.sandbox.heal('openai');
    }
    await new Promise((r) => setTimeout(r, 350));
    expect((await proxy(acct, '/openai/v1/models')).statusCode).toBe(200); // the probe succeeds
    expect((await proxy(acct, '/openai/v1/models')).statusCode).toBe(200);
    await expect.poll(() => status(acct), { timeout: 5_000 }).toBe('active');
    const events = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connection_events').select('type').orderBy('id').execute());
    expect(events.map((e) => e.type)).toEqual(['connected', 'degraded', 'recovered']);
  });
});

describe('in-process helpers for Keyhold jobs', () => {
  it('fetch as a tenant, and official clients cached per tenant + credential version', async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    await connectApiKey(a, 'stripe');
    const res = await h.t.services.tenantClients.fetch(a.tenantId, 'stripe', '/v1/balance');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('balance');
    await expect(h.t.services.tenantClients.fetch(b.tenantId, 'stripe', '/v1/balance')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const build = (c: { secrets: Record<string, string> }) => ({ key: c.secrets.apiKey });
    const first = await h.t.services.tenantClients.client(a.tenantId, 'stripe', build);
    expect(await h.t.services.tenantClients.client(a.tenantId, 'stripe', build)).toBe(first);
    await connectApiKey(b, 'stripe');
    expect(await h.t.services.tenantClients.client(b.tenantId, 'stripe', build)).not.toBe(first);
    // A rotation (here: without verification) yields a new client with the new key.
    const id = (await h.t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(a.accessToken) })).json().data[0].id;
    const code = await enrolMfa(h.t.app, h.t.clock, a);
    const rotated = await h.t.app.inject({ method: 'PUT', url: `/api/api-credentials/${id}?verify=false`, headers: { ...bearer(a.accessToken), 'x-mfa-code': await code() }, payload: { apiKey: 'sk_test_rotated000000000000' } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const next = await h.t.services.tenantClients.client(a.tenantId, 'stripe', build);
    expect(next).not.toBe(first);
    expect(next.key).toBe('sk_test_rotated000000000000');
  });
});
