import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../server.js';

/** The sandbox's QuickBooks companies answer exchange-rate reads and writes as Intuit does. */
let sandbox: Sandbox;
let token: string;
let realm: string;
beforeAll(async () => {
  sandbox = await createSandbox();
  sandbox.oauth.registerApp('quickbooks', { clientId: 'fx-app', clientSecret: 'fx-secret', redirectUri: 'http://127.0.0.1/cb' });
  const grant = sandbox.oauth.mintGrant('quickbooks', { account: `fx-${Date.now()}` });
  token = grant.accessToken;
  realm = grant.ids.realmId!;
  sandbox.quickbooksCompanies.configure(realm, { homeCurrency: 'GBP' });
});
afterAll(() => sandbox.close());

const base = () => `${sandbox.url}/quickbooks/v3/company/${realm}`;
const get = async (path: string) => {
  const res = await fetch(`${base()}${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  return { status: res.status, body: await res.json() as Record<string, any> };
};
const post = async (body: unknown) => {
  const res = await fetch(`${base()}/exchangerate`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() as Record<string, any> };
};
const faultCode = (b: Record<string, any>) => b.Fault.Error[0].code as string;

describe('sandbox QuickBooks exchange rates', () => {
  it("Preferences name the company's home currency; a read answers rates into it", async () => {
    expect((await get('/preferences')).body.Preferences.CurrencyPrefs).toEqual({ MultiCurrencyEnabled: true, HomeCurrency: { value: 'GBP' } });
    const r = await get('/exchangerate?sourcecurrencycode=USD&asofdate=2026-11-20');
    expect(r.body.ExchangeRate).toMatchObject({ SourceCurrencyCode: 'USD', TargetCurrencyCode: 'GBP', AsOfDate: '2026-11-20', SyncToken: '0' });
  });

  it('a write needs the current SyncToken: a stale one is fault 5010, nothing changes', async () => {
    const rate = { SourceCurrencyCode: 'EUR', TargetCurrencyCode: 'GBP', AsOfDate: '2026-11-21', Rate: 0.87 };
    const first = await post({ ...rate, SyncToken: '0' });
    expect([first.status, first.body.ExchangeRate.SyncToken, first.body.ExchangeRate.Rate]).toEqual([200, '1', 0.87]);
    const stale = await post({ ...rate, Rate: 0.5, SyncToken: '0' });
    expect([stale.status, faultCode(stale.body), stale.body.Fault.type]).toEqual([400, '5010', 'ValidationFault']);
    expect((await get('/exchangerate?sourcecurrencycode=EUR&asofdate=2026-11-21')).body.ExchangeRate).toMatchObject({ Rate: 0.87, SyncToken: '1' });
    expect((await post({ ...rate, Rate: 0.88, SyncToken: '1' })).body.ExchangeRate).toMatchObject({ Rate: 0.88, SyncToken: '2' });
  });

  it("refuses what Intuit refuses: missing fields, the home currency, another target, an inactive currency; a company's failure switch", async () => {
    expect(faultCode((await post({ SourceCurrencyCode: 'EUR', AsOfDate: '2026-11-21', SyncToken: '0' })).body)).toBe('2020');
    expect(faultCode((await post({ SourceCurrencyCode: 'GBP', Rate: 1, AsOfDate: '2026-11-21', SyncToken: '0' })).body)).toBe('6000');
    expect(faultCode((await post({ SourceCurrencyCode: 'EUR', TargetCurrencyCode: 'USD', Rate: 1, AsOfDate: '2026-11-21', SyncToken: '0' })).body)).toBe('6000');
    expect(faultCode((await post({ SourceCurrencyCode: 'XAU', Rate: 1, AsOfDate: '2026-11-21', SyncToken: '0' })).body)).toBe('2500');
    sandbox.quickbooksCompanies.fail(realm, 503);
    const down = await get('/preferences');
    expect([down.status, faultCode(down.body), down.body.Fault.type]).toEqual([503, '10000', 'SystemFault']);
    sandbox.quickbooksCompanies.heal(realm);
    expect((await get('/preferences')).status).toBe(200);
  });

  it('the daily-rates API answers per-EUR rates, the same for a day and different across days', async () => {
    const day = async (d: string) => (await fetch(`${sandbox.baseUrlFor('rates')}/${d}?from=EUR`)).json() as Promise<{ base: string; date: string; rates: Record<string, number> }>;
    const a = await day('2026-11-20');
    expect(a).toMatchObject({ base: 'EUR', date: '2026-11-20' });
    expect(Object.keys(a.rates)).toHaveLength(11);
    expect(a.rates.EUR).toBeUndefined();
    expect(await day('2026-11-20')).toEqual(a);
    expect((await day('2026-11-23')).rates).not.toEqual(a.rates);
  });
});
