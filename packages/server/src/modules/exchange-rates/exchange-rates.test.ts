import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, createApiKey, enrolMfa, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { createExchangeRatesRepo } from './exchange-rates.repo.js';
import { type RateQuote, dailyRatesApiSource } from './rate-sources.js';

/**
 * Exchange rates pushed into each QuickBooks company of a tenant, against the sandbox's
 * companies (each with its own home currency and Intuit's exchangerate endpoint) and the
 * sandbox's daily-rates API as the source.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
  h.t.services.exchangeRates.useSource(dailyRatesApiSource((url, init) => fetch(url, init), h.sandbox.baseUrlFor('rates')));
}, 60_000);
afterAll(() => h.close());

const companies = () => h.sandbox.quickbooksCompanies;
const DAY = '2026-11-25';

/** Connects a QuickBooks company under `label` whose home currency is `home`; returns its connection and realm. */
async function company(acct: Account, label: string, home: string, currencies?: string[]) {
  const account = `fx-${randomBytes(5).toString('hex')}`;
  const realm = h.sandbox.oauth.accountIds('quickbooks', account).realmId!;
  companies().configure(realm, { homeCurrency: home, ...(currencies ? { currencies } : {}) });
  const res = await h.connect(acct, 'quickbooks', { label, consent: { sandbox_account: account } });
  if (res.statusCode !== 302) throw new Error(res.body);
  const list = await h.t.app.inject({ method: 'GET', url: '/api/exchange-rates/settings', headers: bearer(acct.accessToken) });
  const connection = list.json().data.find((c: { label: string }) => c.label === label).connection as string;
  return { connection, realm };
}

async function quote(date: string): Promise<RateQuote> {
  const body = await (await fetch(`${h.sandbox.baseUrlFor('rates')}/${date}?from=EUR`)).json() as { base: string; date: string; rates: Record<string, number> };
  return { source: 'daily-rates-api', base: body.base, date: body.date, rates: { ...body.rates, EUR: 1 } };
}
const expected = (q: RateQuote, currency: string, home: string) => Number(((home === 'EUR' ? 1 : q.rates[home]!) / (currency === 'EUR' ? 1 : q.rates[currency]!)).toPrecision(10));

async function mfaHeaders(acct: Account) {
  const next = await enrolMfa(h.t.app, h.t.clock, acct);
  return async () => ({ ...bearer(acct.accessToken), 'x-mfa-code': await next() });
}
const posts = (realm: string) => h.sandbox.requests().filter((r) => r.provider === 'quickbooks' && r.method === 'POST' && r.path === `/v3/company/${realm}/exchangerate`);
const actionRuns = (acct: Account, connectionId: string) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').select(['kind', 'sync', 'status', 'idempotency_key', 'result', 'error_code', 'provider_calls', 'mode'])
    .where('connection_id', '=', connectionId).orderBy('id').execute());

describe('exchange rates into QuickBooks companies', () => {
  it('sync-all with one company failing: per-company results, the other company gets every rate in its own home currency', async () => {
    const acct = await signup(h.t.app);
    const us = await company(acct, 'us', 'USD');
    const eu = await company(acct, 'eu', 'EUR');
    const headers = await mfaHeaders(acct);
    companies().fail(eu.realm);
    try {
      const res = await h.t.app.inject({ method: 'POST', url: `/api/exchange-rates/sync-all?date=${DAY}`, headers: await headers() });
      expect(res.statusCode).toBe(200);
      const out = res.json().data;
      expect(out).toMatchObject({ date: DAY, total: 2, successful: 1, failed: 1 });
      const byLabel = Object.fromEntries(out.results.map((r: { label: string }) => [r.label, r]));
      expect(byLabel.us).toEqual({ connection: us.connection, label: 'us', company: us.realm, homeCurrency: 'USD', rates_synced: 11 });
      expect(byLabel.eu).toEqual({ connection: eu.connection, label: 'eu', company: eu.realm, homeCurrency: null, rates_synced: 0, error: 'quickbooks_10000' });
      // A stable code only: nothing of Intuit's message reaches the answer.
      expect(res.body).not.toMatch(/application error|System Failure/);
    } finally {
      companies().heal(eu.realm);
    }
    const q = await quote(DAY);
    const written = companies().rates(us.realm);
    expect(written).toHaveLength(11);
    for (const r of written) {
      expect(r).toMatchObject({ TargetCurrencyCode: 'USD', AsOfDate: DAY, SyncToken: '1' });
      expect(r.Rate).toBe(expected(q, r.SourceCurrencyCode, 'USD'));
    }
    expect(written.map((r) => r.SourceCurrencyCode)).not.toContain('USD');
    expect(companies().rates(eu.realm)).toEqual([]);

    // Healed, the next run writes the euro company in euros; the US company is not written again.
    const again = (await h.t.app.inject({ method: 'POST', url: `/api/exchange-rates/sync-all?date=${DAY}`, headers: await headers() })).json().data;
    expect(again).toMatchObject({ total: 2, successful: 2, failed: 0 });
    const eur = companies().rates(eu.realm);
    expect(eur).toHaveLength(11);
    expect(eur.every((r) => r.TargetCurrencyCode === 'EUR')).toBe(true);
    expect(eur.find((r) => r.SourceCurrencyCode === 'USD')!.Rate).toBe(expected(q, 'USD', 'EUR'));
    expect(eur.find((r) => r.SourceCurrencyCode === 'EUR')).toBeUndefined();
    expect(companies().writes(us.realm)).toBe(11);

    // Stored per company: 11 rates each, all written; the status counts attempts.
    const stored = (await h.t.app.inject({ method: 'GET', url: `/api/exchange-rates?date=${DAY}&connection=${eu.connection}`, headers: bearer(acct.accessToken) })).json().data;
    expect(stored).toHaveLength(11);
    expect(stored.find((r: { currency: string }) => r.currency === 'USD')).toMatchObject({ homeCurrency: 'EUR', rate: String(expected(q, 'USD', 'EUR')), syncedAt: expect.any(String), error: null });
    const status = (await h.t.app.inject({ method: 'GET', url: '/api/exchange-rates/status', headers: bearer(acct.accessToken) })).json().data;
    const eStatus = status.find((s: { label: string }) => s.label === 'eu');
    expect(eStatus).toMatchObject({ rates: { total: 11, synced: 11, pending: 0 }, syncing: { total: 2, successful: 1, failed: 1 }, lastSyncAt: expect.any(String) });
  });

  it('a rate source that cannot be read: 503 INTEGRATION_UNAVAILABLE, nothing written, nothing stored', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'solo', 'USD');
    const headers = await mfaHeaders(acct);
    h.sandbox.fail('rates', { status: 503 });
    try {
      const res = await h.t.app.inject({ method: 'POST', url: `/api/exchange-rates/sync-all?date=${DAY}`, headers: await headers() });
      expect([res.statusCode, res.json().code]).toEqual([503, 'INTEGRATION_UNAVAILABLE']);
    } finally {
      h.sandbox.heal('rates');
    }
    expect(posts(c.realm)).toEqual([]);
    expect((await h.t.app.inject({ method: 'GET', url: '/api/exchange-rates', headers: bearer(acct.accessToken) })).json().data).toEqual([]);
  });

  it('the same date twice writes nothing the second time: each rate is an action whose stored key answers the repeat', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'books', 'GBP');
    const sync = () => h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, c.connection, DAY);
    expect(await sync()).toMatchObject({ homeCurrency: 'GBP', rates_synced: 11 });
    const first = posts(c.realm).length;
    expect(first).toBe(11);
    const runs = await actionRuns(acct, c.connection);
    expect(runs).toHaveLength(11);
    for (const r of runs) {
      expect(r).toMatchObject({ kind: 'action', sync: 'exchangerate', status: 'succeeded', error_code: null, provider_calls: 2 });
      expect(r.idempotency_key).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(r.result).toMatchObject({ homeCurrency: 'GBP', date: DAY, syncToken: '1' });
    }

    expect(await sync()).toMatchObject({ homeCurrency: 'GBP', rates_synced: 11 });
    expect(posts(c.realm)).toHaveLength(first);
    expect(await actionRuns(acct, c.connection)).toEqual(runs); // no new run, the stored ones answered
    expect(companies().writes(c.realm)).toBe(11);
    // A rate that changed (another day) is another write under another key.
    expect(await h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, c.connection, '2026-11-26')).toMatchObject({ rates_synced: 11 });
    expect(posts(c.realm)).toHaveLength(22);
    // The history lists the actions as such.
    const history = (await h.t.app.inject({ method: 'GET', url: `/api/syncs/runs?connection=${c.connection}&limit=100`, headers: bearer(acct.accessToken) })).json();
    expect(history.data).toHaveLength(22);
    expect(history.data.every((r: { kind: string; sync: string }) => r.kind === 'action' && r.sync === 'exchangerate')).toBe(true);
  });

  it('an action: a repeated key answers the stored result, concurrent writes of one key write once, a failed key may be retried, bad input writes nothing', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'ca', 'CAD');
    const actions = h.t.services.actions;
    const req = { tenantId: acct.tenantId, connectionId: c.connection, action: 'exchangerate', input: { currency: 'EUR', date: DAY, rate: 1.5 }, idempotencyKey: 'eur-2026-11-25' };
    const burst = await Promise.allSettled(Array.from({ length: 5 }, () => actions.perform(req)));
    const done = burst.filter((b) => b.status === 'fulfilled').map((b) => (b as PromiseFulfilledResult<Awaited<ReturnType<typeof actions.perform>>>).value);
    const refused = burst.filter((b) => b.status === 'rejected').map((b) => (b as PromiseRejectedResult).reason.code);
    expect(refused.every((code) => code === 'ACTION_IN_PROGRESS')).toBe(true);
    expect(done.filter((o) => !o.replayed)).toHaveLength(1);
    expect(companies().writes(c.realm)).toBe(1);
    const again = await actions.perform(req);
    expect(again).toMatchObject({ status: 'succeeded', replayed: true, idempotencyKey: 'eur-2026-11-25', providerCalls: 0, result: { currency: 'EUR', rate: 1.5, homeCurrency: 'CAD', syncToken: '1' } });
    expect(companies().writes(c.realm)).toBe(1);

    // Intuit refuses a currency the company does not use: a failed run with Intuit's code, then a retry of the key works.
    companies().configure(c.realm, { homeCurrency: 'CAD', currencies: ['EUR'] });
    const gbp = { ...req, input: { currency: 'GBP', date: DAY, rate: 1.8 }, idempotencyKey: 'gbp-2026-11-25' };
    expect(await actions.perform(gbp)).toMatchObject({ status: 'failed', errorCode: 'quickbooks_2500', result: null });
    companies().configure(c.realm, { homeCurrency: 'CAD' });
    expect(await actions.perform(gbp)).toMatchObject({ status: 'succeeded', replayed: false });
    expect((await actionRuns(acct, c.connection)).filter((r) => r.idempotency_key === 'gbp-2026-11-25')).toHaveLength(1);

    // Someone saves the rate in QuickBooks between our read and our write (stale SyncToken, 5010): read again once, then give up.
    companies().overtake(c.realm, 1);
    expect(await actions.perform({ ...req, input: { currency: 'AUD', date: DAY, rate: 0.9 }, idempotencyKey: 'aud-1' })).toMatchObject({ status: 'succeeded', providerCalls: 4, result: { syncToken: '2' } });
    companies().overtake(c.realm, 2);
    expect(await actions.perform({ ...req, input: { currency: 'AUD', date: DAY, rate: 0.91 }, idempotencyKey: 'aud-2' })).toMatchObject({ status: 'failed', errorCode: 'quickbooks_5010', providerCalls: 4 });
    expect(companies().writes(c.realm)).toBe(3);
    await expect(actions.perform({ ...req, input: { currency: 'eur', date: DAY, rate: 1.5 } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(actions.perform({ ...req, input: { currency: 'EUR', date: DAY, rate: -1 } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(actions.perform({ ...req, idempotencyKey: 'has space' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(actions.perform({ ...req, action: 'nothing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The home currency has no rate: Intuit does not know it as a foreign currency of the company.
    await expect(actions.perform({ ...req, input: { currency: 'CAD', date: DAY, rate: 1 }, idempotencyKey: 'home' })).resolves.toMatchObject({ status: 'failed', errorCode: 'quickbooks_2500' });
    expect(companies().writes(c.realm)).toBe(3);
  });

  it('two syncs of the same tenant and date at once (the daily run and a manual one): every rate is written once, both succeed', async () => {
    const acct = await signup(h.t.app);
    const x = await company(acct, 'x', 'USD');
    const y = await company(acct, 'y', 'CHF');
    const both = await Promise.all([
      h.t.services.exchangeRates.syncAll({ tenantId: acct.tenantId }, DAY, 'schedule'),
      h.t.services.exchangeRates.syncAll({ tenantId: acct.tenantId }, DAY),
      h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, y.connection, DAY),
    ]);
    expect(both.map((o) => ('total' in o ? [o.total, o.successful] : [1, o.error ? 0 : 1]))).toEqual([[2, 2], [2, 2], [1, 1]]);
    expect([companies().writes(x.realm), companies().writes(y.realm)]).toEqual([11, 11]);
    expect(posts(y.realm)).toHaveLength(11);
    const runs = await actionRuns(acct, y.connection);
    expect(runs.filter((r) => r.status === 'succeeded')).toHaveLength(11);
  });

  it('settings: a disabled company is skipped, a currency list limits what is written; bad settings are refused', async () => {
    const acct = await signup(h.t.app);
    const a = await company(acct, 'a', 'USD');
    const b = await company(acct, 'b', 'AUD');
    const put = (id: string, payload: object) => h.t.app.inject({ method: 'PUT', url: `/api/exchange-rates/settings/${id}`, headers: bearer(acct.accessToken), payload });
    expect((await put(b.connection, { enabled: false })).json().data).toMatchObject({ connection: b.connection, enabled: false, currencies: null });
    expect((await put(a.connection, { currencies: ['JPY', 'GBP', 'GBP'] })).json().data).toMatchObject({ enabled: true, currencies: ['GBP', 'JPY'] });
    for (const bad of [{ currencies: ['gbp'] }, { enabled: 'yes' }, { other: 1 }]) expect((await put(a.connection, bad)).statusCode, JSON.stringify(bad)).toBe(400);
    const out = await h.t.services.exchangeRates.syncAll({ tenantId: acct.tenantId }, DAY);
    expect(out).toMatchObject({ total: 1, successful: 1, failed: 0, results: [{ label: 'a', rates_synced: 2 }] });
    expect(companies().rates(a.realm).map((r) => r.SourceCurrencyCode).sort()).toEqual(['GBP', 'JPY']);
    expect(companies().rates(b.realm)).toEqual([]);
    // A single company's sync still honours its currencies; `null` is every currency again.
    expect((await put(a.connection, { currencies: null })).json().data.currencies).toBeNull();
    expect(await h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, a.connection, DAY)).toMatchObject({ rates_synced: 11 });
    const settings = (await h.t.app.inject({ method: 'GET', url: '/api/exchange-rates/settings', headers: bearer(acct.accessToken) })).json().data;
    expect(settings.map((s: { label: string; enabled: boolean }) => [s.label, s.enabled]).sort()).toEqual([['a', true], ['b', false]]);
  });

  it("tenant isolation: another tenant sees none of the rates, settings or status, and another tenant's company answers 404", async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    const c = await company(a, 'main', 'USD');
    await h.t.services.exchangeRates.syncAll({ tenantId: a.tenantId }, DAY);
    for (const url of ['/api/exchange-rates', '/api/exchange-rates/status', '/api/exchange-rates/settings']) {
      expect((await h.t.app.inject({ method: 'GET', url, headers: bearer(b.accessToken) })).json().data, url).toEqual([]);
    }
    expect((await h.t.app.inject({ method: 'GET', url: `/api/exchange-rates?connection=${c.connection}`, headers: bearer(b.accessToken) })).json().data).toEqual([]);
    const headers = await mfaHeaders(b);
    const sync = await h.t.app.inject({ method: 'POST', url: `/api/exchange-rates/sync?connection=${c.connection}&date=${DAY}`, headers: await headers() });
    expect([sync.statusCode, sync.json().code]).toEqual([404, 'NOT_FOUND']);
    const put = await h.t.app.inject({ method: 'PUT', url: `/api/exchange-rates/settings/${c.connection}`, headers: bearer(b.accessToken), payload: { enabled: false } });
    expect([put.statusCode, put.json().code]).toEqual([404, 'NOT_FOUND']);
    expect((await h.t.app.inject({ method: 'POST', url: `/api/exchange-rates/sync-all?date=${DAY}`, headers: await headers() })).json().data).toMatchObject({ total: 0, results: [] });
    // RLS itself: b's transaction reads no row of a's.
    expect(await h.t.db.withTenant(b.tenantId, (tx) => tx.selectFrom('exchange_rates').selectAll().execute())).toEqual([]);
    expect((await h.t.app.inject({ method: 'GET', url: '/api/exchange-rates', headers: bearer(a.accessToken) })).json().data).toHaveLength(11);
  });

  it('who may sync: people need admin and a fresh MFA code, keys need syncs:run; reading needs records:read', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'x', 'USD');
    const url = `/api/exchange-rates/sync?connection=${c.connection}&date=${DAY}`;
    expect((await h.t.app.inject({ method: 'POST', url, headers: bearer(acct.accessToken) })).statusCode).toBe(403);
    const runner = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    const reader = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'member', scopes: ['records:read'] })).key;
    expect((await h.t.app.inject({ method: 'POST', url, headers: bearer(runner) })).json().data).toMatchObject({ rates_synced: 11, date: DAY });
    expect((await h.t.app.inject({ method: 'POST', url, headers: bearer(reader) })).json().code).toBe('FORBIDDEN');
    expect((await h.t.app.inject({ method: 'GET', url: '/api/exchange-rates/status', headers: bearer(reader) })).statusCode).toBe(200);
    expect((await h.t.app.inject({ method: 'GET', url: '/api/exchange-rates/status', headers: bearer(runner) })).json().code).toBe('FORBIDDEN');
    expect((await h.t.app.inject({ method: 'POST', url: `/api/exchange-rates/sync?connection=${c.connection}&date=2026-13-40`, headers: bearer(runner) })).statusCode).toBe(400);
  });

  it("a company with the default settings gets the rates of the currencies it uses (QuickBooks' active CompanyCurrency), no others", async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'few', 'USD', ['EUR', 'GBP']);
    const out = await h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, c.connection, DAY);
    expect(out).toMatchObject({ homeCurrency: 'USD', rates_synced: 2 });
    expect(out.error).toBeUndefined();
    expect(companies().rates(c.realm).map((r) => r.SourceCurrencyCode).sort()).toEqual(['EUR', 'GBP']);
    // Nothing was sent for a currency the company does not use.
    expect(h.sandbox.requests().filter((r) => r.provider === 'quickbooks' && r.path === `/v3/company/${c.realm}/exchangerate` && r.status !== 200)).toEqual([]);
    // A settings list is intersected with the company's currencies too.
    expect((await h.t.app.inject({ method: 'PUT', url: `/api/exchange-rates/settings/${c.connection}`, headers: bearer(acct.accessToken), payload: { currencies: ['GBP', 'JPY'] } })).statusCode).toBe(200);
    expect(await h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, c.connection, '2026-11-26')).toMatchObject({ rates_synced: 1 });
    expect(companies().rates(c.realm).filter((r) => r.AsOfDate === '2026-11-26').map((r) => r.SourceCurrencyCode)).toEqual(['GBP']);
  });

  it('a currency deactivated between the listing and its write (Intuit 2500) is skipped for that currency, not a company failure', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'drop', 'USD', ['EUR', 'GBP', 'JPY']);
    companies().deactivateAfterListing(c.realm, ['GBP']);
    const out = await h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, c.connection, DAY);
    expect(out).toMatchObject({ rates_synced: 2, skipped: ['GBP'] });
    expect(out.error).toBeUndefined();
    expect(companies().rates(c.realm).map((r) => r.SourceCurrencyCode).sort()).toEqual(['EUR', 'JPY']);
    const gbp = (await h.t.services.exchangeRates.rates({ tenantId: acct.tenantId }, { connectionId: c.connection, limit: 10 })).find((r) => r.currency === 'GBP');
    expect(gbp).toMatchObject({ syncedAt: null, error: 'quickbooks_2500' });
  });

  it('a home currency the source does not quote fails the company with home_currency_not_quoted, writing nothing', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'brazil', 'BRL', ['USD', 'EUR']);
    const out = await h.t.services.exchangeRates.syncAll({ tenantId: acct.tenantId }, DAY);
    expect(out).toMatchObject({ total: 1, successful: 0, failed: 1, results: [{ homeCurrency: 'BRL', rates_synced: 0, error: 'home_currency_not_quoted' }] });
    expect(posts(c.realm)).toEqual([]);
  });

  it('repo: a write is marked synced only on the rate and home currency it wrote (a newer rate stored meanwhile stays pending)', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'mark', 'USD');
    const repo = createExchangeRatesRepo(h.t.db.kysely);
    const k = { connectionId: c.connection, currency: 'EUR', date: DAY };
    const put = (rate: number, home = 'USD') => h.t.db.withTenant(acct.tenantId, (tx) => repo.putRate(tx, { tenant_id: acct.tenantId, connection_id: c.connection, currency: 'EUR', rate_date: DAY, home_currency: home, rate, source: 'test', updated_at: new Date() }));
    const mark = (rate: number, home = 'USD') => h.t.db.withTenant(acct.tenantId, (tx) => repo.markRate(tx, acct.tenantId, k, { rate, home_currency: home, synced_at: new Date(), action_run_id: uuidv7(), error_code: null }));
    const synced = async () => (await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('exchange_rates').select('synced_at').where('connection_id', '=', c.connection).executeTakeFirstOrThrow())).synced_at;
    await put(1.1);
    await put(1.2); // another sync stored a newer rate while the write of 1.1 was under way
    await mark(1.1);
    expect(await synced()).toBeNull();
    await put(1.2, 'CAD');
    await mark(1.2, 'USD');
    expect(await synced()).toBeNull();
    await mark(1.2, 'CAD');
    expect(await synced()).toBeInstanceOf(Date);
  });

  it('repo: a small rate (IDR→USD) is stored and read back exactly as sent, and its write marks it synced', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'small', 'USD');
    const repo = createExchangeRatesRepo(h.t.db.kysely);
    const rate = 6.681495123e-5;
    await h.t.db.withTenant(acct.tenantId, (tx) => repo.putRate(tx, { tenant_id: acct.tenantId, connection_id: c.connection, currency: 'IDR', rate_date: DAY, home_currency: 'USD', rate, source: 'test', updated_at: new Date() }));
    await h.t.db.withTenant(acct.tenantId, (tx) => repo.markRate(tx, acct.tenantId, { connectionId: c.connection, currency: 'IDR', date: DAY }, { rate, home_currency: 'USD', synced_at: new Date(), action_run_id: uuidv7(), error_code: null }));
    const [row] = await h.t.db.withTenant(acct.tenantId, (tx) => repo.rates(tx, acct.tenantId, { connectionId: c.connection, limit: 10 }));
    expect(row).toMatchObject({ currency: 'IDR', rate: '0.00006681495123', synced_at: expect.any(Date) });
    expect(Number(row!.rate)).toBe(rate);
  });

  it('a tenant with more than 500 companies: every one of them is listed (the list sync-all works through), not the first page only', async () => {
    const acct = await signup(h.t.app);
    const ids = Array.from({ length: 501 }, () => uuidv7());
    // Rows only (their credentials are never read here): a tenant that grew past one page.
    await h.t.db.withTenant(acct.tenantId, (tx) => tx.insertInto('connections').values(ids.map((id, i) => ({
      id, tenant_id: acct.tenantId, provider: 'quickbooks', label: `company-${i}`, auth_mode: 'oauth2', secrets: 'kh1.unused', config: JSON.stringify({ realmId: String(9000 + i) }),
    }))).execute());
    const settings = await h.t.services.exchangeRates.getSettings({ tenantId: acct.tenantId });
    expect(settings).toHaveLength(501);
    expect(new Set(settings.map((c) => c.connection))).toEqual(new Set(ids));
  });

  it('an impossible date (2026-02-30) is a 400 at the route and in the action, and nothing is written', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'dates', 'USD');
    const runner = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    for (const url of [`/api/exchange-rates/sync?connection=${c.connection}&date=2026-02-30`, '/api/exchange-rates/sync-all?date=2026-02-30', '/api/exchange-rates?date=2026-04-31']) {
      const res = await h.t.app.inject({ method: url.includes('sync') ? 'POST' : 'GET', url, headers: bearer(url.includes('sync') ? runner : acct.accessToken) });
      expect([res.statusCode, res.json().code], url).toEqual([400, 'VALIDATION_FAILED']);
    }
    await expect(h.t.services.actions.perform({ tenantId: acct.tenantId, connectionId: c.connection, action: 'exchangerate', input: { currency: 'EUR', date: '2026-02-30', rate: 1.1 } }))
      .rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(posts(c.realm)).toEqual([]);
  });

  it('a date after today (UTC) is a 400 and writes nothing', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'future', 'USD');
    const runner = (await createApiKey(h.t.app, h.t.clock, acct, { role: 'admin', scopes: ['syncs:run'] })).key;
    const tomorrow = new Date(h.t.clock().getTime() + 86_400_000).toISOString().slice(0, 10);
    for (const date of ['2099-01-01', tomorrow]) {
      for (const url of [`/api/exchange-rates/sync?connection=${c.connection}&date=${date}`, `/api/exchange-rates/sync-all?date=${date}`]) {
        const res = await h.t.app.inject({ method: 'POST', url, headers: bearer(runner) });
        expect([res.statusCode, res.json().code], url).toEqual([400, 'VALIDATION_FAILED']);
      }
    }
    expect(posts(c.realm)).toEqual([]);
    expect(await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('exchange_rates').selectAll().execute())).toEqual([]);
  });

  it("the writes share the company connection's rate limit with live traffic: after a burst spent the bucket, they are paced, never refused", async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct, 'busy', 'USD');
    // Live traffic through the proxy spends QuickBooks' burst (500/min: 100 at once, then ~6.6/s).
    const live = () => h.t.services.tenantClients.fetch(acct.tenantId, 'quickbooks', `/v3/company/${c.realm}/companyinfo/${c.realm}`, { label: 'busy', maxWaitMs: 30_000 }).then((r) => r.status);
    const spent: number[] = [];
    for (let i = 0; i < 11; i++) spent.push(...await Promise.all(Array.from({ length: 10 }, live)));
    expect(spent.every((s) => s === 200)).toBe(true);
    // Those calls may have taken long enough for the bucket to refill a little: spend what is left
    // with calls that do not wait (5 at a time, under the 10 QuickBooks allows at once) until Keyhold
    // refuses one. The stopwatch starts before the batch holding that refusal, so when the refusal
    // was decided the bucket held less than one token, and every token the sync takes is refill.
    const liveNoWait = () => h.t.services.tenantClients.fetch(acct.tenantId, 'quickbooks', `/v3/company/${c.realm}/companyinfo/${c.realm}`, { label: 'busy' }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });
    let started = 0;
    const refused: unknown[] = [];
    for (let batch = 0; batch < 100 && !refused.length; batch++) {
      started = performance.now();
      const answers = await Promise.allSettled(Array.from({ length: 5 }, liveNoWait));
      for (const a of answers) {
        if (a.status === 'fulfilled') spent.push(a.value);
        else refused.push(a.reason);
      }
    }
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => (e as { code?: string }).code === 'RATE_LIMITED')).toBe(true);
    expect(spent.every((s) => s === 200)).toBe(true);
    expect(await h.t.services.exchangeRates.syncCompany({ tenantId: acct.tenantId }, c.connection, DAY)).toMatchObject({ rates_synced: 11 });
    const elapsed = performance.now() - started;
    // 24 calls (preferences, the company's currencies, then a read and a write per currency) from
    // less than one token, at the bucket's refill of (500 - 100 - 1)/60 per second: at least 23 refills,
    // ~3.46 s (a few ms off for the two clocks, Postgres' and this process's).
    expect(elapsed).toBeGreaterThan((23 / ((500 - 100 - 1) / 60)) * 1000 - 20);
    const answered = h.sandbox.requests().filter((r) => r.provider === 'quickbooks' && r.path.startsWith(`/v3/company/${c.realm}/`)).map((r) => r.status);
    expect(answered).toHaveLength(spent.length + 24);
    expect(answered.filter((s) => s !== 200)).toEqual([]);
    console.log(`24 QuickBooks calls after the burst was spent: ${Math.round(elapsed)} ms`);
  }, 60_000);
});
