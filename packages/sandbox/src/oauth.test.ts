import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox, shopifyCallbackHmac } from './index.js';
import { basic, consent, form, pkce, xero } from './test-support/oauth.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await createSandbox();
});
afterAll(() => sandbox.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('authorize', () => {
  it('redirects with a code and state, and records the request', async () => {
    const x = xero(sandbox);
    const { challenge } = pkce();
    const { res, query } = await consent(x.authorizeUrl({ code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(res.status).toBe(302);
    expect(query).toEqual({ code: expect.any(String), state: 'st' });
    expect(sandbox.oauth.lastAuthorizeRequest('xero')).toMatchObject({ code_challenge: challenge, redirect_uri: x.app.redirectUri });
  });

  it('refuses an unregistered redirect_uri, an unknown client and plain PKCE without redirecting', async () => {
    const x = xero(sandbox);
    const cases: Array<Record<string, string>> = [{ redirect_uri: 'https://evil.test/cb' }, { client_id: 'nobody' }, { code_challenge: pkce().verifier, code_challenge_method: 'plain' }];
    for (const extra of cases) {
      const { res, location } = await consent(x.authorizeUrl(extra));
      expect(res.status).toBe(400);
      expect(location).toBeNull();
    }
  });

  it('sandbox_deny sends the user back with access_denied', async () => {
    const { query } = await consent(xero(sandbox).authorizeUrl({ sandbox_deny: '1' }));
    expect(query).toMatchObject({ error: 'access_denied', state: 'st' });
  });

  it('sandbox_account and sandbox_count pick the organisations, the same ones for every tenant', async () => {
    const x = xero(sandbox);
    const lists = [];
    for (let i = 0; i < 2; i++) {
      const t = await x.connect({ sandbox_account: 'acme', sandbox_count: '2' });
      lists.push((await (await x.connections(t.access_token)).json()) as Array<{ tenantId: string; tenantType: string }>);
    }
    expect(lists[0]).toHaveLength(2);
    expect(lists[0]!.map((c) => c.tenantId)).toEqual(lists[1]!.map((c) => c.tenantId));
    expect(lists[0]![1]).toMatchObject({ tenantId: sandbox.oauth.accountIds('xero', 'acme', 1).xeroTenantId, tenantType: 'ORGANISATION' });
  });
});

describe('code exchange', () => {
  it('rejects a PKCE verifier that does not match the challenge', async () => {
    const x = xero(sandbox);
    const { challenge } = pkce();
    const { query } = await consent(x.authorizeUrl({ code_challenge: challenge, code_challenge_method: 'S256' }));
    const res = await x.exchange(query.code!, { code_verifier: pkce().verifier });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('accepts the matching verifier, with no-store headers', async () => {
    const x = xero(sandbox);
    const { verifier, challenge } = pkce();
    const { query } = await consent(x.authorizeUrl({ code_challenge: challenge, code_challenge_method: 'S256' }));
    const res = await x.exchange(query.code!, { code_verifier: verifier });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(await res.json()).toMatchObject({ token_type: 'Bearer', expires_in: 1800, access_token: expect.any(String), refresh_token: expect.any(String) });
  });

  it('uses a code once; the replay revokes what the code bought', async () => {
    const x = xero(sandbox);
    const { query } = await consent(x.authorizeUrl());
    const first = (await (await x.exchange(query.code!)).json()) as { refresh_token: string };
    const again = await x.exchange(query.code!);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await (await x.refresh(first.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers a wrong client secret with 401 invalid_client', async () => {
    const x = xero(sandbox);
    const { query } = await consent(x.authorizeUrl());
    const res = await form(`${sandbox.url}/xero/connect/token`, { grant_type: 'authorization_code', code: query.code!, redirect_uri: x.app.redirectUri }, { authorization: basic(x.app.clientId, 'wrong') });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });
});

describe('refresh and revocation', () => {
  it('keeps a used refresh token valid for the grace window only', async () => {
    const x = xero(sandbox);
    sandbox.oauth.configure('xero', { refreshGraceSeconds: 1 });
    try {
      const t0 = await x.connect();
      const r1 = await x.refresh(t0.refresh_token);
      const t1 = (await r1.json()) as { refresh_token: string };
      expect(t1.refresh_token).not.toBe(t0.refresh_token);
      expect((await x.refresh(t0.refresh_token)).status).toBe(200);
      await sleep(1100);
      const late = await x.refresh(t0.refresh_token);
      expect(late.status).toBe(400);
      expect(await late.json()).toMatchObject({ error: 'invalid_grant' });
      expect((await x.refresh(t1.refresh_token)).status).toBe(200);
    } finally {
      sandbox.oauth.configure('xero', { refreshGraceSeconds: 1800 });
    }
  });

  it('a revoked grant answers invalid_grant and its access tokens 401', async () => {
    const x = xero(sandbox);
    const a = await x.connect({ sandbox_account: 'revoke-me' });
    const b = await x.connect();
    sandbox.oauth.revoke('xero', { account: 'revoke-me' });
    expect(await (await x.refresh(a.refresh_token)).json()).toMatchObject({ error: 'invalid_grant', error_description: expect.any(String) });
    expect((await x.connections(a.access_token)).status).toBe(401);
    expect((await x.connections(b.access_token)).status).toBe(200);
    expect((await x.revoke(b.refresh_token)).status).toBe(200);
    expect(await (await x.refresh(b.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('counts an expired access token and answers it with 401', async () => {
    const x = xero(sandbox);
    sandbox.oauth.configure('xero', { accessTokenTtlSeconds: 1 });
    try {
      const t = await x.connect();
      expect(t.expires_in).toBe(1);
      sandbox.oauth.resetStats();
      await sleep(1100);
      expect((await x.connections(t.access_token)).status).toBe(401);
      expect((await x.connections('never-issued')).status).toBe(401);
      expect(sandbox.oauth.stats().xero).toMatchObject({ expiredTokenUses: 1, unknownTokenUses: 1 });
    } finally {
      sandbox.oauth.configure('xero', { accessTokenTtlSeconds: 1800 });
    }
  });

  it('mintGrant makes a grant that refreshes over HTTP', async () => {
    const x = xero(sandbox);
    const g = sandbox.oauth.mintGrant('xero', { clientId: x.app.clientId, account: 'bench-1' });
    expect(g.ids.xeroTenantId).toBe(sandbox.oauth.accountIds('xero', 'bench-1').xeroTenantId);
    expect((await x.refresh(g.refreshToken!)).status).toBe(200);
    expect(sandbox.oauth.stats().xero.refresh).toBeGreaterThan(0);
  });

  it('fail() with a path only fails that endpoint', async () => {
    const x = xero(sandbox);
    const t = await x.connect();
    sandbox.fail('xero', { status: 503, times: 1, path: '/connect/token' });
    expect((await x.connections(t.access_token)).status).toBe(200);
    expect((await x.refresh(t.refresh_token)).status).toBe(503);
    expect((await x.refresh(t.refresh_token)).status).toBe(200);
  });
});

describe('shopify', () => {
  const app = { clientId: 'shopify-app', clientSecret: 'shpss_secret', redirectUri: 'https://keyhold.test/api/integrations/shopify/callback' };
  const store = 'acme.myshopify.com';
  const base = () => `${sandbox.url}/shopify/${store}`;
  const shop = (token: string, s = store) => fetch(`${sandbox.url}/shopify/${s}/admin/api/2025-07/shop.json`, { headers: { 'x-shopify-access-token': token } });
  const connect = async (body: Record<string, string> = {}) => {
    const { query } = await consent(`${base()}/admin/oauth/authorize?${new URLSearchParams({ client_id: app.clientId, scope: 'read_orders', redirect_uri: app.redirectUri, state: 'n1' })}`);
    const res = await fetch(`${base()}/admin/oauth/access_token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: app.clientId, client_secret: app.clientSecret, code: query.code, ...body }) });
    return { query, res, json: (await res.json()) as Record<string, unknown> };
  };
  beforeAll(() => sandbox.oauth.registerApp('shopify', app));

  it('signs the callback with the app secret, the way Shopify does', async () => {
    const { query } = await connect();
    expect(query).toMatchObject({ shop: store, state: 'n1', host: Buffer.from(`${store}/admin`).toString('base64url') });
    expect(Math.abs(Number(query.timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(query.hmac).toBe(shopifyCallbackHmac(query, app.clientSecret));
    expect(query.hmac).not.toBe(shopifyCallbackHmac(query, 'another-secret'));
  });

  it('issues a non-expiring token without expiring=1, which a public app created now may not use', async () => {
    const { json } = await connect();
    expect(json).toEqual({ access_token: expect.stringMatching(/^shpat_[0-9a-f]+$/), scope: 'read_orders' });
    const refused = await shop(json.access_token as string);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ errors: expect.stringMatching(/^\[API\] Non-expiring access tokens are no longer accepted for the Admin API/) });
    expect((await shop(json.access_token as string, 'other.myshopify.com')).status).toBe(401);
  });

  it("a custom app's non-expiring token still works, bound to its store", async () => {
    sandbox.oauth.registerApp('shopify', { ...app, distribution: 'custom' });
    try {
      const { json } = await connect();
      expect((await shop(json.access_token as string)).status).toBe(200);
      expect((await shop(json.access_token as string, 'other.myshopify.com')).status).toBe(401);
    } finally {
      sandbox.oauth.registerApp('shopify', app);
    }
  });

  it('still accepts seeded tokens, and counts only strangers as unknown', async () => {
    sandbox.seed('shopify', { accessToken: 'shpat_seeded', storeDomain: store });
    sandbox.oauth.resetStats();
    expect((await shop('shpat_seeded')).status).toBe(200);
    expect((await shop('shpat_stranger')).status).toBe(401);
    expect(sandbox.oauth.stats().shopify).toMatchObject({ unknownTokenUses: 1 });
  });

  it('issues expiring tokens on request; a used refresh token works again until its replacement is used', async () => {
    const { json } = await connect({ expiring: '1' });
    expect(json).toMatchObject({ expires_in: 3600, refresh_token: expect.stringMatching(/^shprt_/), refresh_token_expires_in: 7776000 });
    expect((await shop(json.access_token as string)).status).toBe(200);
    const refresh = async (token: string) => (await (await form(`${base()}/admin/oauth/access_token`, { grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: token })).json()) as Record<string, string>;
    const lost = await refresh(json.refresh_token as string); // an answer the app never stored
    const retried = await refresh(json.refresh_token as string);
    expect(retried).toMatchObject({ access_token: expect.stringMatching(/^shpat_/), refresh_token: expect.stringMatching(/^shprt_/) });
    expect(retried.refresh_token).not.toBe(lost.refresh_token);
    expect(await refresh(retried.refresh_token!)).toMatchObject({ refresh_token: expect.stringMatching(/^shprt_/) });
    expect(await refresh(json.refresh_token as string)).toMatchObject({ error: 'invalid_grant' }); // retired once its replacement was used
  });

  it('with the window configured shorter (Shopify before 2026-08-28: 60 minutes), a used token dies with it', async () => {
    sandbox.oauth.configure('shopify', { refreshGraceSeconds: 0 });
    try {
      const { json } = await connect({ expiring: '1' });
      const refresh = () => form(`${base()}/admin/oauth/access_token`, { grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: json.refresh_token as string });
      expect((await refresh()).status).toBe(200);
      expect(await (await refresh()).json()).toMatchObject({ error: 'invalid_grant' });
    } finally {
      sandbox.oauth.configure('shopify', { refreshGraceSeconds: 30 * 86400 });
    }
  });
});

describe('amazon-sp-api', () => {
  const app = { clientId: 'amzn1.application-oa2-client.x', clientSecret: 'amzn-secret', redirectUri: 'https://keyhold.test/cb/amazon', applicationId: 'amzn1.sp.solution.x' };
  beforeAll(() => sandbox.oauth.registerApp('amazon-sp-api', app));

  it('consents by application id, keeps the refresh token across refreshes, and guards SP-API', async () => {
    const q = new URLSearchParams({ application_id: app.applicationId, state: 's', version: 'beta', redirect_uri: app.redirectUri, sandbox_account: 'seller' });
    const { query } = await consent(`${sandbox.url}/amazon-sp-api/apps/authorize/consent?${q}`);
    expect(query).toEqual({ spapi_oauth_code: expect.any(String), state: 's', selling_partner_id: sandbox.oauth.accountIds('amazon-sp-api', 'seller').sellingPartnerId });
    expect(query.selling_partner_id).toMatch(/^A[A-Z0-9]{13}$/);
    const token = `${sandbox.url}/amazon-sp-api/auth/o2/token`;
    const creds = { client_id: app.clientId, client_secret: app.clientSecret };
    const t = (await (await form(token, { grant_type: 'authorization_code', code: query.spapi_oauth_code!, redirect_uri: app.redirectUri, ...creds })).json()) as Record<string, string>;
    expect(t).toMatchObject({ access_token: expect.stringMatching(/^Atza\|/), refresh_token: expect.stringMatching(/^Atzr\|/), token_type: 'bearer', expires_in: 3600 });
    for (let i = 0; i < 2; i++) {
      const r = (await (await form(token, { grant_type: 'refresh_token', refresh_token: t.refresh_token!, ...creds })).json()) as Record<string, string>;
      expect(r.refresh_token).toBe(t.refresh_token);
      expect(r.access_token).not.toBe(t.access_token);
    }
    const participations = (tok: string) => fetch(`${sandbox.url}/amazon-sp-api/sellers/v1/marketplaceParticipations`, { headers: { 'x-amz-access-token': tok } });
    expect(await (await participations(t.access_token!)).json()).toMatchObject({ payload: [{ marketplace: { id: 'ATVPDKIKX0DER' } }] });
    const bad = await participations('Atza|nope');
    expect(bad.status).toBe(403);
    expect(await bad.json()).toMatchObject({ errors: [{ code: 'Unauthorized' }] });
  });
});

describe('quickbooks', () => {
  it('returns the realm on the callback and serves its company only', async () => {
    const app = { clientId: 'qb-app', clientSecret: 'qb-secret', redirectUri: 'https://keyhold.test/cb/qb' };
    sandbox.oauth.registerApp('quickbooks', app);
    const q = new URLSearchParams({ client_id: app.clientId, response_type: 'code', scope: 'com.intuit.quickbooks.accounting', redirect_uri: app.redirectUri, state: 's' });
    const { query } = await consent(`${sandbox.url}/quickbooks/connect/oauth2?${q}`);
    expect(query.realmId).toMatch(/^[0-9]+$/);
    const res = await form(`${sandbox.url}/quickbooks/oauth2/v1/tokens/bearer`, { grant_type: 'authorization_code', code: query.code!, redirect_uri: app.redirectUri }, { authorization: basic(app.clientId, app.clientSecret) });
    const t = (await res.json()) as Record<string, string>;
    expect(t).toMatchObject({ token_type: 'bearer', expires_in: 3600, x_refresh_token_expires_in: 8726400 });
    const info = (realm: string) => fetch(`${sandbox.url}/quickbooks/v3/company/${realm}/companyinfo/${realm}`, { headers: { authorization: `Bearer ${t.access_token}` } });
    expect(await (await info(query.realmId!)).json()).toMatchObject({ CompanyInfo: { Id: query.realmId } });
    expect(await (await info('123')).json()).toMatchObject({ fault: { type: 'AUTHENTICATION' } });
    const revoked = await fetch(`${sandbox.url}/quickbooks/v2/oauth2/tokens/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic(app.clientId, app.clientSecret) }, body: JSON.stringify({ token: t.refresh_token }) });
    expect(revoked.status).toBe(200);
    expect((await info(query.realmId!)).status).toBe(401);
  });
});

describe('messenger', () => {
  it('lists the Pages of the user, each with a token that reads its Page', async () => {
    const app = { clientId: '1234567890', clientSecret: 'fb-secret', redirectUri: 'https://keyhold.test/cb/fb' };
    sandbox.oauth.registerApp('messenger', app);
    const q = new URLSearchParams({ client_id: app.clientId, redirect_uri: app.redirectUri, state: 's', scope: 'pages_show_list,pages_messaging', sandbox_account: 'shop', sandbox_count: '3' });
    const { query } = await consent(`${sandbox.url}/messenger/v21.0/dialog/oauth?${q}`);
    const tq = new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret, redirect_uri: app.redirectUri, code: query.code! });
    const user = (await (await fetch(`${sandbox.url}/messenger/v21.0/oauth/access_token?${tq}`)).json()) as Record<string, string>;
    expect(user).toMatchObject({ access_token: expect.stringMatching(/^EAA/), token_type: 'bearer', expires_in: 3600 }); // short-lived
    const pages = (await (await fetch(`${sandbox.url}/messenger/v21.0/me/accounts`, { headers: { authorization: `Bearer ${user.access_token}` } })).json()) as { data: Array<Record<string, string>> };
    expect(pages.data.map((p) => p.id)).toEqual([0, 1, 2].map((i) => sandbox.oauth.accountIds('messenger', 'shop', i).pageId));
    expect(pages.data[0]).toMatchObject({ id: expect.stringMatching(/^[0-9]{15}$/), access_token: expect.stringMatching(/^EAA/), tasks: ['MANAGE', 'MESSAGING'] });
    const me = await fetch(`${sandbox.url}/messenger/v21.0/me?fields=id,name`, { headers: { authorization: `Bearer ${pages.data[1]!.access_token}` } });
    expect(await me.json()).toEqual({ id: pages.data[1]!.id, name: pages.data[1]!.name });
    const bad = await fetch(`${sandbox.url}/messenger/v21.0/me?access_token=EAAnope`);
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: { type: 'OAuthException', code: 190 } });
  });
});
