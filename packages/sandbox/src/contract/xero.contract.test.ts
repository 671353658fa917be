/**
 * The official `xero-node` client (v20) against the sandbox, as a web app uses it: OpenID
 * discovery, buildConsentUrl → consent → apiCallback (code exchange, id_token checked against
 * the JWKS), updateTenants (GET /connections and /Organisation), accountingApi.getInvoices (.NET dates parsed by
 * the library, paging, filters, If-Modified-Since, rate-limit headers, 429), refreshToken,
 * disconnect (DELETE /connections/{id}) and revokeToken.
 *
 * Shim: xero-node fixes its hosts (discovery at https://identity.xero.com, the API and
 * /connections at https://api.xero.com) and has no base-URL option for them. Both its HTTP stacks
 * (openid-client and axios) use Node's `https.globalAgent`, so the test replaces only that agent's
 * `createConnection` for Xero's three host names: it opens a plain TCP connection to the sandbox,
 * and the request keeps its Host header, by which the sandbox serves it as Xero. Nothing else
 * about the library is changed; other hosts are untouched.
 */
import https from 'node:https';
import net from 'node:net';
import { XeroClient } from 'xero-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';
import { XERO_HOSTS } from '../xero/openid.js';

let s: Sandbox;
const app = { clientId: `xero-node-${crypto.randomUUID()}`, clientSecret: 'xero-node-secret', redirectUri: 'https://app.example/xero/callback' };
const scopes = ['openid', 'profile', 'email', 'offline_access', 'accounting.settings.read', 'accounting.invoices.read', 'accounting.contacts.read'];
type AgentWithConnect = Omit<https.Agent, 'createConnection'> & { createConnection: (options: { host?: string | null; servername?: string }, cb?: unknown) => net.Socket };
const agent = https.globalAgent as unknown as AgentWithConnect;
const original = agent.createConnection;

beforeAll(async () => {
  s = await createSandbox();
  s.oauth.registerApp('xero', app);
  const port = Number(new URL(s.url).port);
  agent.createConnection = function (options, cb) {
    const host = options.servername ?? options.host ?? '';
    return XERO_HOSTS.includes(host) ? net.connect(port, '127.0.0.1') : original.call(this, options, cb);
  };
});
beforeEach(() => s.limits.reset());
afterAll(async () => {
  agent.createConnection = original;
  agent.destroy();
  await s.close();
});

/** The user's browser at Xero's consent page (the sandbox consents), back at the app's callback. */
async function consent(consentUrl: string, account: string, count = 1): Promise<string> {
  const u = new URL(consentUrl);
  expect(u.origin).toBe('https://login.xero.com');
  u.searchParams.set('sandbox_account', account);
  u.searchParams.set('sandbox_count', String(count));
  const res = await fetch(`${s.url}/xero${u.pathname}${u.search}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

async function connected(count = 1) {
  const xero = new XeroClient({ clientId: app.clientId, clientSecret: app.clientSecret, redirectUris: [app.redirectUri], scopes, state: `st-${crypto.randomUUID()}`, httpTimeout: 5000 });
  await xero.initialize();
  const account = `acct-${crypto.randomUUID()}`;
  const tokenSet = await xero.apiCallback(await consent(await xero.buildConsentUrl(), account, count));
  return { xero, tokenSet, account };
}

describe('xero-node (official client) against the sandbox', () => {
  it('buildConsentUrl → consent → apiCallback: tokens and a verified id_token; updateTenants lists the organisations', async () => {
    const { xero, tokenSet, account } = await connected(2);
    expect(tokenSet.access_token).toBeTruthy();
    expect(tokenSet.refresh_token).toBeTruthy();
    // The library recomputes expires_in from its own clock: a second may have passed.
    expect(tokenSet.expires_in).toBeGreaterThanOrEqual(1795);
    expect(tokenSet.expires_in).toBeLessThanOrEqual(1800);
    expect(tokenSet.claims()).toMatchObject({ iss: 'https://identity.xero.com', aud: app.clientId, xero_userid: expect.any(String), email: `${account}@example.com` });
    // The default (full) form also reads GET /Organisation for every tenant.
    const tenants = await xero.updateTenants();
    expect(tenants.map((t: { tenantId: string }) => t.tenantId).sort()).toEqual([0, 1].map((i) => s.oauth.accountIds('xero', account, i).xeroTenantId).sort());
    expect(tenants[0]).toMatchObject({ tenantType: 'ORGANISATION', id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    for (const t of tenants as Array<{ tenantId: string; tenantName: string; orgData: { organisationID: string; name: string; createdDateUTC: unknown } }>) {
      expect(t.orgData).toMatchObject({ organisationID: t.tenantId, name: t.tenantName });
      expect(t.orgData.createdDateUTC).toBeInstanceOf(Date);
    }
    const consentQuery = s.oauth.lastAuthorizeRequest('xero')!;
    expect(consentQuery).toMatchObject({ client_id: app.clientId, redirect_uri: app.redirectUri, response_type: 'code', scope: scopes.join(' ') });
  });

  it('accountingApi.getInvoices: the library turns /Date(…)/ into Dates; where, Statuses, paging and If-Modified-Since work; limit headers arrive', async () => {
    const { xero } = await connected();
    const [tenant] = await xero.updateTenants(false);
    const all = await xero.accountingApi.getInvoices(tenant.tenantId);
    expect(all.response.status).toBe(200);
    expect(all.response.headers['x-minlimit-remaining']).toBe('59');
    expect(all.response.headers['x-daylimit-remaining']).toBe('4999');
    expect(all.response.headers['x-appminlimit-remaining']).toBeDefined();
    const invoices = all.body.invoices!;
    expect(invoices).toHaveLength(520);
    const first = invoices[0]!;
    expect(first.updatedDateUTC).toBeInstanceOf(Date);
    expect(first.updatedDateUTC!.toISOString()).toBe('2026-10-01T01:00:00.000Z');
    // Date/DueDate are typed as strings in the library; it converts Xero's /Date(…)/ form itself.
    expect(first.dueDate as unknown).toBeInstanceOf(Date);
    expect((first.dueDate as unknown as Date).toISOString()).toBe('2026-10-31T00:00:00.000Z');

    const accrec = await xero.accountingApi.getInvoices(tenant.tenantId, undefined, 'Type=="ACCREC"', 'UpdatedDateUTC DESC');
    expect(accrec.body.invoices!.every((i) => String(i.type) === 'ACCREC')).toBe(true);
    const since = new Date(invoices[3]!.updatedDateUTC!.getTime());
    const changed = await xero.accountingApi.getInvoices(tenant.tenantId, since);
    expect(changed.body.invoices).toHaveLength(517);
    expect(s.requests().at(-1)!.headers['if-modified-since']).toBe(since.toISOString());
    const paid = await xero.accountingApi.getInvoices(tenant.tenantId, undefined, undefined, undefined, undefined, undefined, undefined, ['PAID', 'VOIDED']);
    expect(new Set(paid.body.invoices!.map((i) => String(i.status)))).toEqual(new Set(['PAID', 'VOIDED']));
    const page2 = await xero.accountingApi.getInvoices(tenant.tenantId, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 2, undefined, undefined, undefined, undefined, 4);
    expect(page2.body.pagination).toEqual({ page: 2, pageSize: 4, pageCount: 130, itemCount: 520 });
    expect(page2.body.invoices).toHaveLength(4);
  });

  it('a 429 reaches the caller with Retry-After and X-Rate-Limit-Problem', async () => {
    const { xero } = await connected();
    const [tenant] = await xero.updateTenants(false);
    s.limits.configure('xero', { windows: [{ name: 'minute', limit: 1, windowMs: 60_000 }, { name: 'day', limit: 5000, windowMs: 86_400_000 }] });
    await xero.accountingApi.getInvoices(tenant.tenantId);
    const err = await xero.accountingApi.getInvoices(tenant.tenantId).then(() => null, (e: unknown) => JSON.parse(String(e)) as { response: { statusCode: number; headers: Record<string, string> } });
    expect(err?.response.statusCode).toBe(429);
    expect(Number(err!.response.headers['retry-after'])).toBeGreaterThan(0);
    expect(err!.response.headers['x-rate-limit-problem']).toBe('minute');
  });

  it('refreshToken rotates the tokens; disconnect removes one organisation; revokeToken ends the grant', async () => {
    const { xero, tokenSet } = await connected(2);
    const refreshed = await xero.refreshToken();
    expect(refreshed.access_token).not.toBe(tokenSet.access_token);
    expect(refreshed.refresh_token).not.toBe(tokenSet.refresh_token);
    const [gone, kept] = await xero.updateTenants(false);
    await xero.disconnect(gone.id);
    const left = await xero.updateTenants(false);
    expect(left.map((t: { tenantId: string }) => t.tenantId)).toEqual([kept.tenantId]);
    await expect(xero.accountingApi.getInvoices(gone.tenantId)).rejects.toMatch(/"statusCode":403/);
    expect((await xero.accountingApi.getInvoices(kept.tenantId)).response.status).toBe(200);

    const refreshToken = xero.readTokenSet().refresh_token!;
    await xero.revokeToken();
    const again = new XeroClient({ clientId: app.clientId, clientSecret: app.clientSecret, redirectUris: [app.redirectUri], scopes });
    await again.initialize();
    again.setTokenSet({ refresh_token: refreshToken, access_token: 'revoked' });
    await expect(again.refreshToken()).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
