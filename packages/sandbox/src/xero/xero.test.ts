import { createPublicKey, createVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';
import { consent, xero } from '../test-support/oauth.js';

let s: Sandbox;
beforeAll(async () => {
  s = await createSandbox();
  s.oauth.registerApp('xero', { clientId: 'xero-data', clientSecret: 'secret', redirectUri: 'http://k/cb' });
});
afterAll(() => s.close());

const grant = (count = 1) => {
  const g = s.oauth.mintGrant('xero', { clientId: 'xero-data', count });
  const headers = { authorization: `Bearer ${g.accessToken}`, 'xero-tenant-id': g.ids.xeroTenantId! };
  return { g, headers };
};
type InvoiceReply = { Id: string; Status: string; ProviderName: string; DateTimeUTC: string; pagination: Record<string, number>; Invoices: Array<Record<string, string>> };
const invoices = async (headers: Record<string, string>, query = '') => {
  const res = await fetch(`${s.url}/xero/api.xro/2.0/Invoices${query}`, { headers });
  return { res, body: (await res.json()) as InvoiceReply };
};

describe('Xero scopes (granular since 2 March 2026)', () => {
  it('a new app may request granular scopes but not the retired broad ones or unknown ones: Xero shows its error page', async () => {
    const x = xero(s);
    const ok = await consent(x.authorizeUrl({ scope: 'offline_access accounting.invoices.read accounting.contacts.read' }));
    expect(ok.res.status).toBe(302);
    for (const scope of ['offline_access accounting.transactions.read', 'accounting.reports.read', 'accounting.invoices.read accounting.invoice.read']) {
      const refused = await consent(x.authorizeUrl({ scope }));
      expect(refused.res.status).toBe(400);
      expect(refused.location).toBeNull();
      expect(await refused.res.json()).toEqual({ error: 'unauthorized_client', error_description: 'Invalid scope for client' });
    }
  });

  it('an app created before the change (legacyScopes) may still mix broad and granular scopes', async () => {
    const legacy = xero(s, { clientId: `legacy-${Date.now()}`, clientSecret: 's', redirectUri: 'http://k/cb', legacyScopes: true });
    const { res } = await consent(legacy.authorizeUrl({ scope: 'offline_access accounting.transactions.read accounting.reports.read accounting.invoices.read' }));
    expect(res.status).toBe(302);
    expect((await consent(legacy.authorizeUrl({ scope: 'accounting.everything' }))).res.status).toBe(400);
  });
});

describe('Xero invoices as the API sends them', () => {
  it('wraps the list (Id, Status OK, ProviderName, DateTimeUTC) and sends .NET JSON dates', async () => {
    const { headers } = grant();
    const { res, body } = await invoices(headers);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ Status: 'OK', ProviderName: expect.any(String), pagination: { page: 1, itemCount: 520 } });
    expect(body.Id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.DateTimeUTC).toMatch(/^\/Date\(\d{13}\)\/$/);
    const inv = body.Invoices[0]!;
    for (const f of ['Date', 'DueDate', 'UpdatedDateUTC']) expect(inv[f]).toMatch(/^\/Date\(\d{13}\+0000\)\/$/);
    expect(inv.DateString).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00$/);
    // The same invoices on every call (stable ids: a sync can tell new from changed); another organisation has its own.
    expect((await invoices(headers)).body.Invoices.map((i) => i.InvoiceID)).toEqual(body.Invoices.map((i) => i.InvoiceID));
    expect((await invoices(grant().headers)).body.Invoices.map((i) => i.InvoiceID)).not.toEqual(body.Invoices.map((i) => i.InvoiceID));
  });

  it('filters by where (Type, Status), Statuses and If-Modified-Since; orders; pages with pageSize', async () => {
    const { headers } = grant();
    const accrec = (await invoices(headers, `?where=${encodeURIComponent('Type=="ACCREC" AND Status=="AUTHORISED"')}`)).body.Invoices;
    expect(accrec.length).toBeGreaterThan(0);
    expect(accrec.every((i) => i.Type === 'ACCREC' && i.Status === 'AUTHORISED')).toBe(true);
    expect(new Set((await invoices(headers, '?Statuses=PAID,VOIDED')).body.Invoices.map((i) => i.Status))).toEqual(new Set(['PAID', 'VOIDED']));
    const all = (await invoices(headers, '?order=UpdatedDateUTC%20DESC')).body.Invoices;
    const ms = (d: string) => Number(/\d+/.exec(d)![0]);
    expect(all.map((i) => ms(i.UpdatedDateUTC!))).toEqual(all.map((i) => ms(i.UpdatedDateUTC!)).sort((a, b) => b - a));
    const cut = new Date(ms(all[2]!.UpdatedDateUTC!)).toISOString().slice(0, 19);
    expect((await invoices({ ...headers, 'if-modified-since': cut })).body.Invoices).toHaveLength(3);
    const page6 = (await invoices(headers, '?page=6&pageSize=100')).body;
    expect(page6.pagination).toEqual({ page: 6, pageSize: 100, pageCount: 6, itemCount: 520 });
    expect(page6.Invoices).toHaveLength(20);
    expect((await invoices(headers, '?page=1&pageSize=5000')).body.pagination.pageSize).toBe(1000);
    const bad = await invoices(headers, `?where=${encodeURIComponent('Colour=="red"')}`);
    expect([bad.res.status, (bad.body as unknown as { Type: string }).Type]).toEqual([400, 'QueryParseException']);
  });

  it('refuses a token without an invoices scope: 401 insufficient_scope', async () => {
    const x = xero(s);
    const { query } = await consent(x.authorizeUrl({ scope: 'offline_access accounting.contacts.read' }));
    const { access_token } = (await (await x.exchange(query.code!)).json()) as { access_token: string };
    const org = (await (await x.connections(access_token)).json()) as Array<{ tenantId: string }>;
    const { res } = await invoices({ authorization: `Bearer ${access_token}`, 'xero-tenant-id': org[0]!.tenantId });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('insufficient_scope');
  });

  it('sends the real limit headers only (no x-applimit-remaining)', async () => {
    const { res } = await invoices(grant().headers);
    expect(res.headers.get('x-appminlimit-remaining')).not.toBeNull();
    expect(res.headers.get('x-applimit-remaining')).toBeNull();
  });
});

describe('Xero connections', () => {
  it('DELETE /connections/{id} removes one organisation: 204, gone from the list, its tenant id refused; the others keep working', async () => {
    const { g, headers } = grant(2);
    const list = async () => (await (await fetch(`${s.url}/xero/connections`, { headers })).json()) as Array<{ id: string; tenantId: string }>;
    const [first, second] = await list();
    const del = await fetch(`${s.url}/xero/connections/${first!.id}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    expect(del.status).toBe(204);
    expect((await list()).map((c) => c.tenantId)).toEqual([second!.tenantId]);
    expect((await invoices({ ...headers, 'xero-tenant-id': first!.tenantId })).res.status).toBe(403);
    expect((await invoices({ ...headers, 'xero-tenant-id': second!.tenantId })).res.status).toBe(200);
    expect(g.accounts[1]!.xeroTenantId).toBe(second!.tenantId);
    // Again, or another grant's connection: 404.
    expect((await fetch(`${s.url}/xero/connections/${first!.id}`, { method: 'DELETE', headers })).status).toBe(404);
    const other = grant();
    expect((await fetch(`${s.url}/xero/connections/${second!.id}`, { method: 'DELETE', headers: other.headers })).status).toBe(404);
  });
});

describe('Xero OpenID Connect', () => {
  it('publishes discovery and keys, and signs an id_token (RS256) when openid was granted', async () => {
    const d = (await (await fetch(`${s.url}/xero/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(d.issuer).toBe('https://identity.xero.com');
    expect(d.token_endpoint).toBe(`${s.url}/xero/connect/token`);
    const { keys } = (await (await fetch(d.jwks_uri!)).json()) as { keys: Array<Record<string, string>> };
    const x = xero(s);
    const { query } = await consent(x.authorizeUrl({ scope: 'openid profile email offline_access accounting.invoices.read' }));
    const tokens = (await (await x.exchange(query.code!)).json()) as { id_token: string };
    const [h, p, sig] = tokens.id_token.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as { kid: string; alg: string };
    expect(header.alg).toBe('RS256');
    const jwk = keys.find((k) => k.kid === header.kid)!;
    expect(createVerify('RSA-SHA256').update(`${h}.${p}`).verify(createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(sig!, 'base64url'))).toBe(true);
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toMatchObject({ iss: 'https://identity.xero.com', aud: x.app.clientId, xero_userid: expect.any(String) });
    // Without openid there is no id_token.
    expect(await x.connect()).not.toHaveProperty('id_token');
  });
});

describe("Xero invoices change as a bookkeeper changes them", () => {
  it('pay, void and delete move UpdatedDateUTC; If-Modified-Since then lists just those; deleted ones stay listed as DELETED', async () => {
    const { g, headers } = grant();
    const org = g.ids.xeroTenantId!;
    const before = s.xeroInvoices.list(org);
    const pick = (status: string) => before.find((i) => i.Status === status && i.AmountPaid === 0)!.InvoiceID as string;
    const at = new Date(Date.UTC(2027, 0, 5));
    const [paid, voided, deleted] = [pick('AUTHORISED'), before.filter((i) => i.Status === 'AUTHORISED' && i.AmountPaid === 0)[1]!.InvoiceID as string, pick('DRAFT')];
    expect(s.xeroInvoices.pay(org, paid, at)).toBe(true);
    expect(s.xeroInvoices.void(org, voided, at)).toBe(true);
    expect(s.xeroInvoices.remove(org, deleted, at)).toBe(true);
    expect(s.xeroInvoices.remove(org, paid, at)).toBe(false);
    const changed = (await invoices({ ...headers, 'if-modified-since': '2027-01-01T00:00:00' })).body.Invoices;
    expect(Object.fromEntries(changed.map((i) => [i.InvoiceID, [i.Status, i.AmountDue]]))).toEqual({ [paid]: ['PAID', 0], [voided]: ['VOIDED', 0], [deleted]: ['DELETED', 0] });
    const control = await fetch(`${s.url}/_sandbox/xero/invoices/${pick('SUBMITTED')}/approve?tenant=${org}`, { method: 'POST' });
    expect(control.status).toBe(200);
    expect(((await control.json()) as InvoiceReply).Invoices[0]!.Status).toBe('AUTHORISED');
  });
});
