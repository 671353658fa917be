import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../platform/crypto/secret.js';
import { signup, refreshTokenReader } from '../../test-support/accounts.js';
import { TEST_PUBLIC_URL, testApp } from '../../test-support/index.js';
import { callbackWith, startConnect } from '../../test-support/oauth.js';
import { type Provider as CatalogProvider, loadCatalog } from '../catalog/catalog.js';

/**
 * The generic OAuth 2.0 path end to end against a real authorization server (oidc-provider):
 * authorization code + PKCE S256 through Keyhold's authorize/callback routes, then refresh_token.
 */
const CLIENT = { id: 'keyhold-test', secret: 'oidc-provider-client-secret-0123456789' };
const REDIRECT = `${TEST_PUBLIC_URL}/api/integrations/acme-oidc/callback`;

let issuer: string;
let server: ReturnType<typeof createServer>;
let t: Awaited<ReturnType<typeof testApp>>;
const tokenRequests: string[] = [];

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    scopes: ['openid', 'offline_access'],
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    ttl: { AccessToken: 600, AuthorizationCode: 60, RefreshToken: 86_400, Grant: 86_400, Interaction: 600, Session: 600, IdToken: 600 },
  });
  provider.on('grant.success', (ctx) => tokenRequests.push(String(ctx.oidc.params?.grant_type)));
  server.on('request', provider.callback());

  const base = loadCatalog();
  const acme: CatalogProvider = {
    id: 'acme-oidc',
    displayName: 'Acme (OIDC)',
    category: 'Custom',
    docs: 'docs/providers/acme-oidc.md',
    reviewedAt: '2026-11-27',
    authMode: 'oauth2',
    baseUrl: issuer,
    credentialFields: [{ name: 'accessToken', label: 'Access token', secret: true }, { name: 'refreshToken', label: 'Refresh token', secret: true }],
    inject: { headers: { Authorization: 'Bearer {{accessToken}}' } },
    oauth: { authorizeUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, revokeUrl: `${issuer}/token/revocation`, scopes: ['openid', 'offline_access'], pkce: true, clientAuth: 'basic', authorizeParams: { prompt: 'consent' } },
  };
  t = await testApp({
    catalog: { get: (id: string) => (id === acme.id ? acme : base.get(id)), list: () => [...base.list(), acme] },
    oauthApps: { 'acme-oidc': { clientId: CLIENT.id, clientSecret: new Secret(CLIENT.secret) } },
  });
});
afterAll(async () => {
  await t.close();
  await new Promise((r) => server.close(r));
});

/** A browser at oidc-provider's dev interaction pages: follows redirects, keeps cookies, submits the forms. */
async function consentLikeABrowser(authUrl: string): Promise<URL> {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let url = authUrl;
  let init: RequestInit = {};
  for (let hop = 0; hop < 12; hop++) {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: cookieHeader() } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=');
      jar.set(k!, v ?? '');
    }
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.href.startsWith(REDIRECT)) return next;
      url = next.href;
      init = {};
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form at ${url}: ${res.status}`);
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1] ?? '';
    url = new URL(action, url).href;
    init = { method: 'POST', body: new URLSearchParams({ prompt, login: 'user-42', password: 'any' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many hops');
}

describe('generic OAuth 2.0 against oidc-provider', () => {
  it('connects with code + PKCE, stores the tokens, refreshes with the refresh_token grant, and revokes on disconnect', async () => {
    const acct = await signup(t.app);
    const started = await startConnect(t.app, acct, 'acme-oidc');
    const url = new URL(started.authUrl);
    expect(url.searchParams.get('prompt')).toBe('consent');
    const callback = await consentLikeABrowser(started.authUrl);
    expect(callback.searchParams.get('iss')).toBe(issuer); // RFC 9207: checked by oauth4webapi
    const res = await callbackWith(t.app, callback, started.cookie);
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers.location).toBe('/admin/integrations?acme-oidc=configured');
    expect(tokenRequests).toEqual(['authorization_code']);

    const readWithRefresh = await refreshTokenReader(t.app, t.services.apiKeys, acct, 'acme-oidc');
    const read = async () => (await readWithRefresh()).json().data;
    const first = await read();
    expect(first.credentials.refreshToken).toBeTruthy();
    // The token works at the authorization server's userinfo endpoint.
    expect((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${first.credentials.accessToken}` } })).status).toBe(200);

    t.clock.advance(550_000); // 50 s left of 600: inside the refresh margin
    const second = await read();
    expect(tokenRequests).toEqual(['authorization_code', 'refresh_token']);
    expect(second.credentials.accessToken).not.toBe(first.credentials.accessToken);
    expect((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${second.credentials.accessToken}` } })).status).toBe(200);

    // A replayed callback (same code and state) is refused before reaching the token endpoint.
    expect((await callbackWith(t.app, callback, started.cookie)).json().code).toBe('OAUTH_STATE_INVALID');
    expect(tokenRequests).toHaveLength(2);
  });
});
