/**
 * Intuit's own clients against the sandbox: intuit-oauth@4 (OAuth 2.0: consent URL, code exchange,
 * refresh, revoke, `makeApiCall`) and node-quickbooks@2 (the invoice, bill and exchange-rate reads
 * Keyhold's working-capital and exchange-rate syncs use).
 *
 * Shims (both libraries hard-code Intuit's hosts):
 * - intuit-oauth: its own `setAuthorizeURLs({ authorizeEndpoint, tokenEndpoint, revokeEndpoint,
 *   userInfoEndpoint })` (public, typed); data calls get an absolute URL, as Intuit's samples pass.
 * - node-quickbooks: its static endpoint properties `QuickBooks.V3_ENDPOINT_BASE_URL`,
 *   `TOKEN_URL` and `REVOKE_URL` (public, typed). `setOauthVersion('2.0')` is not called: it would
 *   fetch Intuit's discovery document.
 */
import { createRequire } from 'node:module';
import OAuthClient from 'intuit-oauth';
import type { QuickBooksError } from 'node-quickbooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

// node-quickbooks is CommonJS (`module.exports = QuickBooks`) while its typings declare a default export.
const QuickBooks = createRequire(import.meta.url)('node-quickbooks') as typeof import('node-quickbooks').default;

let sandbox: Sandbox;
const app = { clientId: 'ABqbo-contract-client', clientSecret: 'qbo-contract-secret', redirectUri: 'https://keyhold.test/api/integrations/quickbooks/callback' };
beforeAll(async () => {
  sandbox = await createSandbox();
  sandbox.oauth.registerApp('quickbooks', app);
  const qb = `${sandbox.url}/quickbooks`;
  QuickBooks.V3_ENDPOINT_BASE_URL = `${qb}/v3/company/`;
  QuickBooks.TOKEN_URL = `${qb}/oauth2/v1/tokens/bearer`;
  QuickBooks.REVOKE_URL = `${qb}/v2/oauth2/tokens/revoke`;
});
afterAll(() => sandbox.close());

function oauthClient(opts: { includeRefreshTokenHardExpiresIn?: boolean } = {}) {
  const client = new OAuthClient({ ...app, environment: 'sandbox', ...opts });
  const qb = `${sandbox.url}/quickbooks`;
  return client.setAuthorizeURLs({
    authorizeEndpoint: `${qb}/connect/oauth2`,
    tokenEndpoint: `${qb}/oauth2/v1/tokens/bearer`,
    revokeEndpoint: `${qb}/v2/oauth2/tokens/revoke`,
    userInfoEndpoint: `${qb}/v1/openid_connect/userinfo`,
  });
}

/** Consent (the sandbox agrees at once) and the library's code exchange on the callback URL. */
async function connect(client: OAuthClient, account = `acct-${crypto.randomUUID()}`) {
  const authUri = client.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: 'contract-state' });
  const consent = await fetch(`${authUri}&sandbox_account=${account}`, { redirect: 'manual' });
  const callback = consent.headers.get('location')!;
  const auth = await client.createToken(callback);
  return { authUri: new URL(authUri), callback: new URL(callback), token: auth.getToken() };
}

/** node-quickbooks' callbacks as a promise; the shape asserted is the one on the wire. */
type Callback = (err: any, data?: any) => void;
const call = <T>(fn: (cb: Callback) => void) =>
  new Promise<T>((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));

describe('intuit-oauth', () => {
  it('consent URL, code exchange with the realm, company info through makeApiCall', async () => {
    const client = oauthClient();
    const { authUri, callback, token } = await connect(client);
    expect(Object.fromEntries(authUri.searchParams)).toMatchObject({ response_type: 'code', client_id: app.clientId, scope: 'com.intuit.quickbooks.accounting', state: 'contract-state' });
    expect(authUri.searchParams.has('code_challenge')).toBe(false); // Intuit's client sends no PKCE
    expect(callback.searchParams.get('state')).toBe('contract-state');
    expect(token).toMatchObject({ token_type: 'bearer', expires_in: 3600, x_refresh_token_expires_in: 8726400, realmId: expect.stringMatching(/^[0-9]+$/) });
    expect(token.x_refresh_token_hard_expires_in).toBe(0); // not asked for
    expect(client.isAccessTokenValid()).toBe(true);
    const res = await client.makeApiCall({ url: `${sandbox.url}/quickbooks/v3/company/${token.realmId}/companyinfo/${token.realmId}?minorversion=75` });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ CompanyInfo: { Id: token.realmId }, time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T[\d:.]+-0[78]:00$/) });
    expect(res.headers.intuit_tid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports the 5-year hard expiry when asked (includeRefreshTokenHardExpiresIn)', async () => {
    const { token } = await connect(oauthClient({ includeRefreshTokenHardExpiresIn: true }));
    expect(token.x_refresh_token_hard_expires_in).toBeGreaterThan(5 * 365 * 86400 - 60);
    expect(token.x_refresh_token_hard_expires_in).toBeLessThanOrEqual(5 * 365 * 86400);
  });

  it('refresh keeps the same refresh token within a day (rolling expiry not extended), and rotates after', async () => {
    const client = oauthClient({ includeRefreshTokenHardExpiresIn: true });
    const { token } = await connect(client);
    const same = (await client.refresh()).getToken();
    expect(same.access_token).not.toBe(token.access_token);
    expect(same.refresh_token).toBe(token.refresh_token);
    expect(same.x_refresh_token_expires_in).toBeLessThanOrEqual(8726400);
    expect(same.x_refresh_token_hard_expires_in).toBeGreaterThan(0);
    sandbox.oauth.configure('quickbooks', { refreshTokenReuseSeconds: 0 });
    try {
      const rotated = (await client.refreshUsingToken(same.refresh_token!)).getToken();
      expect(rotated.refresh_token).not.toBe(token.refresh_token);
      expect(rotated.x_refresh_token_expires_in).toBe(8726400);
      await expect(client.refreshUsingToken(token.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    } finally {
      sandbox.oauth.configure('quickbooks', { refreshTokenReuseSeconds: 86400 });
    }
  });

  it('revoke ends the grant: the API answers 401 afterwards', async () => {
    const client = oauthClient();
    const { token } = await connect(client);
    const revoked = await client.revoke({ refresh_token: token.refresh_token });
    expect(revoked.response?.status ?? 200).toBe(200);
    client.setToken(token);
    await expect(client.makeApiCall({ url: `${sandbox.url}/quickbooks/v3/company/${token.realmId}/companyinfo/${token.realmId}` })).rejects.toMatchObject({ code: '401' });
  });
});

describe('node-quickbooks', () => {
  async function qbo() {
    const { token } = await connect(oauthClient());
    return new QuickBooks(app.clientId, app.clientSecret, token.access_token!, false, token.realmId!, true, false, null, '2.0', token.refresh_token);
  }

  it('findInvoices pages through STARTPOSITION/MAXRESULTS with fetchAll; count(*) agrees', async () => {
    const qb = await qbo();
    const all = await call<{ QueryResponse: { Invoice: Array<{ Id: string; Balance: number; CurrencyRef: { value: string } }>; maxResults: number } }>((cb) => qb.findInvoices({ fetchAll: true, limit: 1000 }, cb));
    expect(all.QueryResponse.Invoice).toHaveLength(1200);
    expect(new Set(all.QueryResponse.Invoice.map((i) => i.Id)).size).toBe(1200);
    const count = await call<{ QueryResponse: { totalCount: number } }>((cb) => qb.findInvoices({ count: true }, cb));
    expect(count.QueryResponse.totalCount).toBe(1200);
    const open = await call<{ QueryResponse: { Invoice: Array<{ Balance: number }> } }>((cb) => qb.findInvoices([{ field: 'Balance', value: 0, operator: '>' }], cb));
    expect(open.QueryResponse.Invoice.length).toBeGreaterThan(0);
    expect(open.QueryResponse.Invoice.every((i) => i.Balance > 0)).toBe(true);
    const queries = sandbox.requests().filter((r) => r.provider === 'quickbooks' && r.path.endsWith('/query')).map((r) => new URLSearchParams(r.query).get('query'));
    expect(queries).toContain('select * from invoice startposition 1001 maxresults 1000');
  });

  it('findBills with a where clause; an empty result is an empty QueryResponse', async () => {
    const qb = await qbo();
    const bills = await call<{ QueryResponse: { Bill: Array<{ DocNumber: string; VendorRef: { value: string } }> } }>((cb) => qb.findBills({ DocNumber: 'B-203' }, cb));
    expect(bills.QueryResponse.Bill.map((b) => b.DocNumber)).toEqual(['B-203']);
    const none = await call<{ QueryResponse: Record<string, unknown> }>((cb) => qb.findBills({ DocNumber: 'nope' }, cb));
    expect(none.QueryResponse).toEqual({});
  });

  it('getExchangeRate and findExchangeRates, the rates the exchange-rate sync reads', async () => {
    const qb = await qbo();
    const one = await call<{ ExchangeRate: { SourceCurrencyCode: string; TargetCurrencyCode: string; Rate: number; AsOfDate: string } }>((cb) => qb.getExchangeRate({ sourcecurrencycode: 'EUR', asofdate: '2026-11-20' }, cb));
    expect(one.ExchangeRate).toMatchObject({ SourceCurrencyCode: 'EUR', TargetCurrencyCode: 'USD', AsOfDate: '2026-11-20', Rate: expect.any(Number) });
    const rates = await call<{ QueryResponse: { ExchangeRate: Array<{ SourceCurrencyCode: string }> } }>((cb) => qb.findExchangeRates({ SourceCurrencyCode: 'GBP' }, cb));
    expect(rates.QueryResponse.ExchangeRate.map((r) => r.SourceCurrencyCode)).toEqual(['GBP']);
    const bad = await call((cb) => qb.getExchangeRate({ sourcecurrencycode: 'XYZ' }, cb)).catch((e: QuickBooksError) => e);
    expect(bad).toMatchObject({ response: { status: 400, data: { Fault: { type: 'ValidationFault' } } } });
  });

  it('updateExchangeRate writes with the SyncToken just read; the same SyncToken again is the stale-object fault 5010', async () => {
    const qb = await qbo();
    const read = await call<{ ExchangeRate: Record<string, unknown> & { SyncToken: string } }>((cb) => qb.getExchangeRate({ sourcecurrencycode: 'GBP', asofdate: '2026-11-24' }, cb));
    const rate = { SourceCurrencyCode: 'GBP', TargetCurrencyCode: 'USD', AsOfDate: '2026-11-24', Rate: 1.2601, SyncToken: read.ExchangeRate.SyncToken };
    const written = await call<{ ExchangeRate: { Rate: number; SyncToken: string } }>((cb) => qb.updateExchangeRate({ ...rate }, cb));
    expect(written.ExchangeRate).toMatchObject({ Rate: 1.2601, SyncToken: String(Number(read.ExchangeRate.SyncToken) + 1) });
    const stale = await call((cb) => qb.updateExchangeRate({ ...rate, Rate: 1.3 }, cb)).catch((e: QuickBooksError) => e);
    expect(stale).toMatchObject({ response: { status: 400, data: { Fault: { type: 'ValidationFault', Error: [{ code: '5010' }] } } } });
  });

  it('refreshAccessToken and revokeAccess (form-encoded) work; a throttled call is a 429 Fault with code 3001', async () => {
    const qb = await qbo();
    const refreshed = await call<{ access_token: string; refresh_token: string }>((cb) => qb.refreshAccessToken(cb));
    expect(qb.token).toBe(refreshed.access_token);
    sandbox.limits.configure('quickbooks', { windows: [{ name: 'minute', limit: 1, windowMs: 60_000 }] });
    try {
      await call((cb) => qb.findBills(cb));
      const throttled = await call((cb) => qb.findBills(cb)).catch((e: QuickBooksError) => e);
      expect(throttled).toMatchObject({ response: { status: 429, data: { Fault: { Error: [{ code: '3001' }] } } } });
    } finally {
      sandbox.limits.reset();
    }
    const { token: access, realmId: realm } = qb as unknown as { token: string; realmId: string };
    const revoked = await call<unknown>((cb) => qb.revokeAccess(true, cb));
    expect(revoked).toBeDefined();
    expect(qb.refreshToken).toBeNull();
    // The sandbox really ended the grant: the access token of before is refused.
    const after = await fetch(`${QuickBooks.V3_ENDPOINT_BASE_URL}${realm}/companyinfo/${realm}`, { headers: { authorization: `Bearer ${access}`, accept: 'application/json' } });
    expect(after.status).toBe(401);
  });
});
