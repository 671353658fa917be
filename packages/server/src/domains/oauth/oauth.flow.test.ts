import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup, createApiKey, refreshTokenReader } from '../../test-support/accounts.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { appFor, callbackWith, consentAt, oauthHarness, startConnect } from '../../test-support/oauth.js';

let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const account = () => `acct-${crypto.randomUUID()}`;
const connectionRow = async (tenantId: string, provider: string, label = 'default') => {
  const c = await adminClient();
  try {
    const { rows } = await c.query('select * from connections where tenant_id = $1 and provider = $2 and label = $3', [tenantId, provider, label]);
    return rows[0];
  } finally {
    await c.end();
  }
};

describe('OAuth authorize (RFC 9700 client checklist)', () => {
  it('builds the consent URL with a 256-bit state, PKCE S256 and the exact per-provider redirect URI', async () => {
    const acct = await signup(h.t.app);
    const started = await startConnect(h.t.app, acct, 'xero');
    const url = new URL(started.authUrl);
    expect(url.origin + url.pathname).toBe(`${h.sandbox.baseUrlFor('xero')}/identity/connect/authorize`);
    expect(url.searchParams.get('client_id')).toBe(appFor('xero').clientId);
    expect(url.searchParams.get('redirect_uri')).toBe('http://keyhold.test/api/integrations/xero/callback');
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(url.searchParams.get('state')!, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(url.searchParams.get('scope')).toContain('offline_access');
    expect(started.cookie).toMatch(/^keyhold_oauth_[0-9a-f]{16}=/);
    // PKCE is skipped only where the catalog says the provider refuses it.
    const shop = new URL((await startConnect(h.t.app, acct, 'shopify', { shop: 'pkce-check.myshopify.com' })).authUrl);
    expect(shop.searchParams.has('code_challenge')).toBe(false);
  });

  it('answers who may start a flow: admins with a session, not members, not API keys', async () => {
    const acct = await signup(h.t.app);
    const res = (url: string, token = acct.accessToken) => h.t.app.inject({ method: 'GET', url, headers: bearer(token) });
    expect((await res('/api/integrations/stripe/authorize')).json().code).toBe('OAUTH_NOT_SUPPORTED');
    // A Keyhold without the platform's Xero app configured says what the operator has to set.
    const bare = await testApp();
    try {
      const other = await signup(bare.app);
      const notConfigured = (await bare.app.inject({ method: 'GET', url: '/api/integrations/xero/authorize', headers: bearer(other.accessToken) })).json();
      expect(notConfigured).toMatchObject({ code: 'OAUTH_NOT_CONFIGURED' });
      expect(notConfigured.error).toContain('KEYHOLD_OAUTH_XERO_CLIENT_ID');
    } finally {
      await bare.close();
    }
    expect((await res('/api/integrations/shopify/authorize?shop=evil.com')).statusCode).toBe(400);
    for (const returnTo of ['//evil.example/x', 'https://evil.example', '/api/auth/me', '/admin\\@evil', 'javascript:alert(1)']) {
      const r = await res(`/api/integrations/xero/authorize?returnTo=${encodeURIComponent(returnTo)}`);
      expect([r.statusCode, r.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    const key = (await createApiKey(h.t.app, h.t.clock, acct, { name: 'k', scopes: ['credentials:read'] })).key;
    expect((await res('/api/integrations/xero/authorize', key)).statusCode).toBe(403);
  });
});

describe('OAuth callback', () => {
  it('connects Xero: tokens encrypted, org id as config and routing key, redirect to the admin UI, SDK read works', async () => {
    const acct = await signup(h.t.app);
    const name = account();
    const res = await h.connect(acct, 'xero', { consent: { sandbox_account: name } });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/admin/integrations?xero=configured');
    const ids = h.sandbox.oauth.accountIds('xero', name);
    const row = await connectionRow(acct.tenantId, 'xero');
    expect(row).toMatchObject({ status: 'active', routing_key: ids.xeroTenantId, config: { xeroTenantId: ids.xeroTenantId }, auth_mode: 'oauth2' });
    expect(row.token_expires_at.getTime() - h.t.clock().getTime()).toBeGreaterThan(1700_000);
    // The sandbox saw the PKCE verifier and Basic client auth; the code is single use.
    expect(h.sandbox.oauth.stats().xero?.authorizationCode).toBeGreaterThan(0);

    const key = (await createApiKey(h.t.app, h.t.clock, acct, { name: 'sdk', scopes: ['credentials:read'] })).key;
    const business = (await h.t.app.inject({ method: 'GET', url: '/api/connections/xero/credentials', headers: bearer(key) })).json().data;
    // Business code gets the access token, never the refresh token (Keyhold refreshes).
    expect(Object.keys(business.credentials)).toEqual(['accessToken']);
    const read = (await (await refreshTokenReader(h.t.app, h.t.services.apiKeys, acct, 'xero'))()).json().data;
    expect(read.credentials.refreshToken).toBeTruthy();
    const tenantAsk = await h.t.app.inject({ method: 'GET', url: '/api/connections/xero/credentials?include=refreshToken', headers: bearer(key) });
    expect([tenantAsk.statusCode, tenantAsk.json().code]).toEqual([403, 'FORBIDDEN']);
    const plain = await h.t.services.apiKeys.createPlatformKey({ tenantId: null, actor: { type: 'system', id: null } }, { name: 'reader', scopes: ['credentials:read'] });
    const platformAsk = await h.t.app.inject({ method: 'GET', url: '/api/connections/xero/credentials?include=refreshToken', headers: { ...bearer(plain.key), 'x-keyhold-tenant': acct.slug } });
    expect([platformAsk.statusCode, platformAsk.json().code]).toEqual([403, 'FORBIDDEN']);
    const audited = await h.t.app.inject({ method: 'GET', url: '/api/audit-logs?action=api_credentials.refresh_token_read', headers: bearer(acct.accessToken) });
    expect(audited.json().data).toHaveLength(1);
    expect(row.secrets).not.toContain(read.credentials.accessToken);
    expect(row.secrets).not.toContain(read.credentials.refreshToken);
    const orgs = await fetch(`${h.sandbox.baseUrlFor('xero')}/connections`, { headers: { authorization: `Bearer ${read.credentials.accessToken}` } });
    expect(orgs.status).toBe(200);
    expect(read).toMatchObject({ provider: 'xero', status: 'active', config: { xeroTenantId: ids.xeroTenantId } });

    // Never in a URL or a log line: the code, the state, the tokens.
    const code = new URLSearchParams(res.callback.search).get('code')!;
    const logged = h.t.logs.text();
    for (const secret of [code, read.credentials.accessToken, read.credentials.refreshToken, appFor('xero').clientSecret]) expect(logged).not.toContain(secret);
    expect(res.headers.location).not.toContain(read.credentials.accessToken);
  });

  it('rejects a replayed, expired, cross-provider or cookie-less callback', async () => {
    const acct = await signup(h.t.app);
    const started = await startConnect(h.t.app, acct, 'xero');
    const callback = await consentAt(started, { sandbox_account: account() });
    expect((await callbackWith(h.t.app, callback, started.cookie)).statusCode).toBe(302);
    const replay = await callbackWith(h.t.app, callback, started.cookie);
    expect([replay.statusCode, replay.json().code]).toEqual([400, 'OAUTH_STATE_INVALID']);

    // Issued for Xero, presented at QuickBooks' callback (mix-up): refused.
    const s2 = await startConnect(h.t.app, acct, 'xero', { label: 'two' });
    const cb2 = await consentAt(s2);
    const mixed = await h.t.app.inject({ method: 'GET', url: `/api/integrations/quickbooks/callback${cb2.search}`, headers: { cookie: s2.cookie } });
    expect([mixed.statusCode, mixed.json().code]).toEqual([400, 'OAUTH_STATE_INVALID']);
    expect(mixed.json().error).toMatch(/another provider/);

    // Another browser (no or wrong binding cookie).
    const s3 = await startConnect(h.t.app, acct, 'xero', { label: 'three' });
    const cb3 = await consentAt(s3);
    expect((await callbackWith(h.t.app, cb3, '')).json().code).toBe('OAUTH_STATE_INVALID');
    const s4 = await startConnect(h.t.app, acct, 'xero', { label: 'four' });
    const cb4 = await consentAt(s4);
    const wrong = s4.cookie.replace(/=.*/, `=${'x'.repeat(43)}`);
    expect((await callbackWith(h.t.app, cb4, wrong)).json().error).toMatch(/another browser/);

    // Expired: ten minutes is the limit.
    const s5 = await startConnect(h.t.app, acct, 'xero', { label: 'five' });
    const cb5 = await consentAt(s5);
    h.t.clock.advance(10 * 60_000 + 1000);
    expect((await callbackWith(h.t.app, cb5, s5.cookie)).json().error).toMatch(/expired/);
    // Unknown state.
    expect((await h.t.app.inject({ method: 'GET', url: '/api/integrations/xero/callback?code=abc&state=nope' })).json().code).toBe('OAUTH_STATE_INVALID');
    expect(await connectionRow(acct.tenantId, 'xero', 'two')).toBeUndefined();
  });

  it('turns a denied consent into OAUTH_ACCESS_DENIED, as JSON for clients and a page for browsers', async () => {
    const acct = await signup(h.t.app);
    const api = await h.connect(acct, 'xero', { consent: { sandbox_deny: '1' } });
    expect([api.statusCode, api.json().code]).toEqual([400, 'OAUTH_ACCESS_DENIED']);
    const page = await h.connect(acct, 'xero', { consent: { sandbox_deny: '1' }, accept: 'text/html' });
    expect(page.statusCode).toBe(400);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('OAUTH_ACCESS_DENIED');
    expect(page.body).toContain('/admin/integrations?xero=error&#38;code=OAUTH_ACCESS_DENIED');
  });

  it('returns to returnTo, and keeps the connection id and label on reconnect', async () => {
    const acct = await signup(h.t.app);
    const name = account();
    const first = await h.connect(acct, 'xero', { consent: { sandbox_account: name }, returnTo: '/admin/onboarding?step=2' });
    expect(first.headers.location).toBe('/admin/onboarding?step=2&xero=configured');
    const before = await connectionRow(acct.tenantId, 'xero');
    expect((await h.connect(acct, 'xero', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    const after = await connectionRow(acct.tenantId, 'xero');
    expect(after.id).toBe(before.id);
    expect(after.credential_version).toBe(before.credential_version + 1);
    expect(after.secrets).not.toBe(before.secrets);
  });

  it('refuses an account another tenant (or another label) already holds: 409 ACCOUNT_ALREADY_CONNECTED', async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    const name = account();
    expect((await h.connect(a, 'xero', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    const taken = await h.connect(b, 'xero', { consent: { sandbox_account: name } });
    expect([taken.statusCode, taken.json().code]).toEqual([409, 'ACCOUNT_ALREADY_CONNECTED']);
    expect(await connectionRow(b.tenantId, 'xero')).toBeUndefined();
    const sameTenant = await h.connect(a, 'xero', { label: 'second', consent: { sandbox_account: name } });
    expect(sameTenant.statusCode).toBe(409);
    // QuickBooks realm and Shopify store are routing keys too.
    const qb = account();
    expect((await h.connect(a, 'quickbooks', { consent: { sandbox_account: qb } })).statusCode).toBe(302);
    expect((await h.connect(b, 'quickbooks', { consent: { sandbox_account: qb } })).json().code).toBe('ACCOUNT_ALREADY_CONNECTED');
  });

  it('lets the user choose among several Xero organisations; one connection per organisation', async () => {
    const acct = await signup(h.t.app);
    const other = await signup(h.t.app);
    const name = account();
    const res = await h.connect(acct, 'xero', { consent: { sandbox_account: name, sandbox_count: '3' } });
    const location = new URL(res.headers.location as string, 'http://x');
    expect(location.searchParams.get('xero')).toBe('choose');
    const pendingId = location.searchParams.get('pending')!;
    const pending = (await h.t.app.inject({ method: 'GET', url: `/api/integrations/pending/${pendingId}`, headers: bearer(acct.accessToken) })).json().data;
    expect(pending.choices).toHaveLength(3);
    expect(JSON.stringify(pending)).not.toMatch(/access|refresh/i);
    // Another tenant cannot see or use it.
    expect((await h.t.app.inject({ method: 'GET', url: `/api/integrations/pending/${pendingId}`, headers: bearer(other.accessToken) })).statusCode).toBe(404);
    const chosen = pending.choices[1];
    const sel = await h.t.app.inject({ method: 'POST', url: `/api/integrations/pending/${pendingId}/select`, headers: bearer(acct.accessToken), payload: { choiceId: chosen.id } });
    expect(sel.statusCode).toBe(201);
    expect((await connectionRow(acct.tenantId, 'xero')).routing_key).toBe(h.sandbox.oauth.accountIds('xero', name, 1).xeroTenantId);
    // Single use.
    expect((await h.t.app.inject({ method: 'POST', url: `/api/integrations/pending/${pendingId}/select`, headers: bearer(acct.accessToken), payload: { choiceId: chosen.id } })).statusCode).toBe(404);
  });
});

describe('provider specifics', () => {
  it('QuickBooks: realmId from the callback', async () => {
    const acct = await signup(h.t.app);
    const name = account();
    expect((await h.connect(acct, 'quickbooks', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    const realmId = h.sandbox.oauth.accountIds('quickbooks', name).realmId;
    expect(await connectionRow(acct.tenantId, 'quickbooks')).toMatchObject({ routing_key: realmId, config: { realmId } });
    const test = await h.t.app.inject({ method: 'POST', url: `/api/api-credentials/${(await connectionRow(acct.tenantId, 'quickbooks')).id}/test`, headers: bearer(acct.accessToken) });
    expect(test.statusCode).toBe(200);
  });

  it('Shopify: per-store URLs, callback HMAC verified, non-expiring and expiring offline tokens', async () => {
    h.t.clock.set(Date.now()); // the callback timestamp is checked against Keyhold's clock
    const acct = await signup(h.t.app);
    const shop = `store-${Date.now()}.myshopify.com`;
    const tampered = await h.connect(acct, 'shopify', { shop, tamper: (q) => q.set('timestamp', String(Number(q.get('timestamp')) - 1)) });
    expect([tampered.statusCode, tampered.json().code]).toEqual([400, 'OAUTH_CALLBACK_INVALID']);
    const otherShop = await h.connect(acct, 'shopify', { shop, tamper: (q) => q.set('shop', 'other.myshopify.com') });
    expect(otherShop.json().code).toBe('OAUTH_CALLBACK_INVALID');
    const noHmac = await h.connect(acct, 'shopify', { shop, tamper: (q) => q.delete('hmac') });
    expect(noHmac.json().code).toBe('OAUTH_CALLBACK_INVALID');
    const stale = await h.connect(acct, 'shopify', { shop: `stale-${shop}` });
    expect(stale.statusCode, stale.body).toBe(302); // control: untampered passes

    const ok = await h.connect(acct, 'shopify', { shop, label: 'main' });
    expect(ok.statusCode).toBe(302);
    // Keyhold asks for an expiring offline token (public apps may not use non-expiring ones).
    const exchange = h.sandbox.requests().filter((r) => r.provider === 'shopify' && r.method === 'POST' && r.path.endsWith('/admin/oauth/access_token')).at(-1)!;
    expect(new URLSearchParams(exchange.body).get('expiring')).toBe('1');
    const row = await connectionRow(acct.tenantId, 'shopify', 'main');
    expect(row).toMatchObject({ routing_key: shop, config: { storeDomain: shop } });
    expect(row.token_expires_at).not.toBeNull();
    expect(row.secrets).not.toContain('shpat_'); // encrypted, and the refresh token with it
  });

  it('Amazon: LWA exchange with spapi_oauth_code; selling partner id as routing key', async () => {
    const acct = await signup(h.t.app);
    const started = await startConnect(h.t.app, acct, 'amazon-sp-api');
    const url = new URL(started.authUrl);
    expect(url.searchParams.get('application_id')).toBe(appFor('amazon-sp-api').clientId);
    expect(url.searchParams.get('version')).toBe('beta');
    const name = account();
    const res = await callbackWith(h.t.app, await consentAt(started, { sandbox_account: name }), started.cookie);
    expect(res.statusCode).toBe(302);
    const id = h.sandbox.oauth.accountIds('amazon-sp-api', name).sellingPartnerId;
    expect(await connectionRow(acct.tenantId, 'amazon-sp-api')).toMatchObject({ routing_key: id, config: { sellingPartnerId: id, marketplaceId: 'ATVPDKIKX0DER', region: 'na' } });
  });

  it('Messenger: the user picks one of their Pages; the page token and page id are stored', async () => {
    const acct = await signup(h.t.app);
    const name = account();
    const res = await h.connect(acct, 'messenger', { consent: { sandbox_account: name, sandbox_count: '2' } });
    const pendingId = new URL(res.headers.location as string, 'http://x').searchParams.get('pending')!;
    const page = h.sandbox.oauth.accountIds('messenger', name, 0).pageId;
    const sel = await h.t.app.inject({ method: 'POST', url: `/api/integrations/pending/${pendingId}/select`, headers: bearer(acct.accessToken), payload: { choiceId: page } });
    expect(sel.statusCode).toBe(201);
    const row = await connectionRow(acct.tenantId, 'messenger');
    expect(row).toMatchObject({ routing_key: page, config: { pageId: page }, token_expires_at: null });
    const test = await h.t.app.inject({ method: 'POST', url: `/api/api-credentials/${row.id}/test`, headers: bearer(acct.accessToken) });
    expect(test.statusCode).toBe(200);
  });

  it("Slack: the workspace from oauth.v2.access is the routing key; the bot token does not expire; verify reads Slack's ok flag", async () => {
    const acct = await signup(h.t.app);
    const name = account();
    expect((await h.connect(acct, 'slack', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    const teamId = h.sandbox.oauth.accountIds('slack', name).teamId;
    const row = await connectionRow(acct.tenantId, 'slack');
    expect(row).toMatchObject({ routing_key: teamId, config: { teamId }, token_expires_at: null, status: 'active' });
    const test = () => h.t.app.inject({ method: 'POST', url: `/api/api-credentials/${row.id}/test`, headers: bearer(acct.accessToken) });
    expect((await test()).statusCode).toBe(200);
    h.sandbox.oauth.revoke('slack', { account: name });
    expect((await test()).statusCode).toBe(422); // Slack answers 200 with ok: false
    // Slack reports a bad code as 200 + ok:false; Keyhold treats it as the refusal it is.
    const replayed = await h.connect(acct, 'slack', { label: 'again', tamper: (q) => q.set('code', 'not-a-code') });
    expect([replayed.statusCode, replayed.json().code]).toEqual([502, 'OAUTH_EXCHANGE_FAILED']);
  });
});
