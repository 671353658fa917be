import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ConnectionStore } from '../../domains/connections/store.js';
import type { TenantPrincipal } from '../../domains/identity/principal.js';
import type { TenantClients } from '../../domains/proxy/tenant-clients.js';
import type { ActionRunner } from '../../domains/syncs/actions.js';
import type { ExchangeRatesRepo } from './exchange-rates.repo.js';
import { type RateQuote, type RateSource, intoHome } from './rate-sources.js';

/** Each company is a QuickBooks connection (one per label); its rates go in with this action. */
const PROVIDER = 'quickbooks';
const ACTION = 'exchangerate';
/** Intuit's fault for a currency the company does not use (Invalid Reference Id). */
const CURRENCY_NOT_ACTIVE = 'quickbooks_2500';
/** Connections read per page when listing a tenant's companies. */
const COMPANIES_PAGE = 500;
/** Companies synced at once by sync-all (each writes its currencies one after the other). */
const COMPANIES_AT_ONCE = 4;
const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** How long a write waits for another sync of the same company (the daily run and a manual one) to let go. */
const IN_PROGRESS_WAIT_MS = 60_000;

export type Trigger = 'manual' | 'schedule';
export type CompanyResult = { connection: string; label: string; company: string | null; homeCurrency: string | null; rates_synced: number; skipped?: string[]; error?: string };
export type Company = { id: string; label: string; realmId: string | null; status: string };

export type ExchangeRatesDeps = {
  repo: ExchangeRatesRepo;
  tenancy: Tenancy;
  store: Pick<ConnectionStore, 'page' | 'byId'>;
  actions: Pick<ActionRunner, 'perform'>;
  tenantFetch: TenantClients['fetch'];
  source: RateSource;
  clock: Clock;
  log?: Pick<Logger, 'warn'>;
};

/**
 * QuickBooks Preferences: the company's home currency (`CurrencyPrefs.HomeCurrency.value`).
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/preferences
 */
const Preferences = z.looseObject({ Preferences: z.looseObject({ CurrencyPrefs: z.looseObject({ HomeCurrency: z.looseObject({ value: z.string().regex(/^[A-Z]{3}$/) }) }) }) });
/** `QueryResponse` without the entity's key when nothing matched (Intuit leaves it out). */
const CompanyCurrencies = z.looseObject({ QueryResponse: z.looseObject({ CompanyCurrency: z.array(z.looseObject({ Code: z.string().regex(/^[A-Z]{3}$/), Active: z.boolean().optional() })).optional() }) });
const Fault = z.looseObject({ Fault: z.looseObject({ Error: z.array(z.looseObject({ code: z.string().regex(/^[0-9]{1,6}$/) })).min(1) }) });

const codeOf = (err: unknown) => (err instanceof AppError && CODE.test(err.code) ? err.code : 'internal_error');
const todayOf = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Pushes each day's reference rates into every QuickBooks company of a tenant, each in its own
 * home currency, and keeps per company the rates, the settings and the history of its syncs.
 */
export function createExchangeRatesService(deps: ExchangeRatesDeps) {
  let source = deps.source;
  const inTenant: Tenancy['withTenant'] = (tenantId, fn) => deps.tenancy.withTenant(tenantId, fn);

  /** Every QuickBooks company of the tenant, page after page (a tenant may have more than one page of them). */
  async function companies(tenantId: string): Promise<Company[]> {
    const all: Company[] = [];
    for (let offset = 0; ; offset += COMPANIES_PAGE) {
      const { rows } = await deps.tenancy.withTenant(tenantId, (tx) => deps.store.page(tx, { provider: PROVIDER, isActive: true, limit: COMPANIES_PAGE, offset }));
      all.push(...rows.map((r) => ({ id: r.id, label: r.label, realmId: r.config.realmId ?? null, status: r.status })));
      if (rows.length < COMPANIES_PAGE) return all;
    }
  }

  async function settingsMap(tenantId: string) {
    const rows = await deps.tenancy.withTenant(tenantId, (tx) => deps.repo.settings(tx, tenantId));
    return new Map(rows.map((r) => [r.connection_id, { enabled: r.enabled, currencies: r.currencies }]));
  }

  /** A read of the company's QuickBooks data; a refusal is a stable code (Intuit's fault code, else the HTTP status). */
  async function readCompany(tenantId: string, c: Company, path: string): Promise<unknown> {
    const res = await deps.tenantFetch(tenantId, PROVIDER, `/v3/company/${c.realmId}/${path}`, { label: c.label, maxWaitMs: 30_000 });
    const text = await res.text();
    let body: unknown = null;
    try { body = JSON.parse(text); } catch { body = null; }
    if (res.status !== 200) {
      const fault = Fault.safeParse(body);
      throw new AppError('INTEGRATION_UNAVAILABLE', 'QuickBooks did not answer', { cause: fault.success ? `quickbooks_${fault.data.Fault.Error[0]!.code}` : `http_${res.status}` });
    }
    return body;
  }

  /** The company's home currency, read from QuickBooks each sync (a company may change it only before its first transaction, but may). */
  async function homeCurrency(tenantId: string, c: Company): Promise<string> {
    const parsed = Preferences.safeParse(await readCompany(tenantId, c, 'preferences'));
    if (!parsed.success) throw new AppError('INTEGRATION_UNAVAILABLE', 'QuickBooks answered in an unexpected shape', { cause: 'unexpected_answer' });
    return parsed.data.Preferences.CurrencyPrefs.HomeCurrency.value;
  }

  /**
   * The foreign currencies the company uses: its active CompanyCurrency rows (the home currency is
   * not one of them). Intuit refuses a rate for any other currency (fault 2500), so only these are
   * written. One page is enough: there are fewer ISO currencies than MAXRESULTS.
   * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companycurrency
   */
  async function activeCurrencies(tenantId: string, c: Company): Promise<Set<string>> {
    const q = new URLSearchParams({ query: 'select * from CompanyCurrency where Active = true startposition 1 maxresults 1000' });
    const parsed = CompanyCurrencies.safeParse(await readCompany(tenantId, c, `query?${q}`));
    if (!parsed.success) throw new AppError('INTEGRATION_UNAVAILABLE', 'QuickBooks answered in an unexpected shape', { cause: 'unexpected_answer' });
    return new Set((parsed.data.QueryResponse.CompanyCurrency ?? []).filter((x) => x.Active !== false).map((x) => x.Code));
  }

  /** The write, waiting while another sync of this company holds the action (one at a time per connection). */
  async function write(req: Parameters<ExchangeRatesDeps['actions']['perform']>[0]) {
    const until = Date.now() + IN_PROGRESS_WAIT_MS;
    for (;;) {
      try {
        return await deps.actions.perform(req);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'ACTION_IN_PROGRESS') || Date.now() > until) throw err;
      }
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }

  async function syncOne(tenantId: string, c: Company, date: string, quote: RateQuote, wanted: string[] | null, trigger: Trigger): Promise<CompanyResult> {
    const started = deps.clock();
    const result: CompanyResult = { connection: c.id, label: c.label, company: c.realmId, homeCurrency: null, rates_synced: 0 };
    try {
      if (!c.realmId) throw new AppError('NOT_FOUND', 'The connection does not name its company', { cause: 'no_realm' });
      const home = await homeCurrency(tenantId, c);
      result.homeCurrency = home;
      // No quote of the home currency, no rate into it: a failure to report, not a success with nothing written.
      if (home !== quote.base && quote.rates[home] === undefined) throw new AppError('RATES_NOT_AVAILABLE', `The rate source does not quote ${home}`, { cause: 'home_currency_not_quoted' });
      const active = await activeCurrencies(tenantId, c);
      // What the company uses ∩ what the source quotes (∩ the settings' list, when there is one).
      const currencies = (wanted ?? Object.keys(quote.rates)).filter((x) => x !== home && active.has(x) && quote.rates[x] !== undefined).sort();
      // One currency after the other: QuickBooks locks each rate by SyncToken, and the company's
      // calls share its connection's rate limit with everything else the tenant does.
      for (const currency of currencies) {
        const rate = intoHome(quote, currency, home);
        if (rate === null) continue;
        const k = { connectionId: c.id, currency, date };
        await inTenant(tenantId, (tx) => deps.repo.putRate(tx, { tenant_id: tenantId, connection_id: c.id, currency, rate_date: date, home_currency: home, rate, source: quote.source, updated_at: deps.clock() }));
        const out = await write({ tenantId, connectionId: c.id, action: ACTION, input: { currency, date, rate, homeCurrency: home }, trigger });
        await inTenant(tenantId, (tx) => deps.repo.markRate(tx, tenantId, k, { rate, home_currency: home, synced_at: out.status === 'succeeded' ? deps.clock() : null, action_run_id: out.runId, error_code: out.errorCode }));
        if (out.errorCode === CURRENCY_NOT_ACTIVE) {
          // Deactivated since we listed the company's currencies: this currency only, the others go on.
          (result.skipped ??= []).push(currency);
          continue;
        }
        if (out.status !== 'succeeded') {
          result.error = out.errorCode ?? 'internal_error';
          break; // the company is failing: report it rather than hammer it with every currency
        }
        result.rates_synced++;
      }
    } catch (err) {
      const cause = err instanceof AppError && typeof err.cause === 'string' && CODE.test(err.cause) ? err.cause : null;
      result.error = cause ?? codeOf(err);
    }
    await inTenant(tenantId, (tx) => deps.repo.insertRun(tx, {
      id: uuidv7(), tenant_id: tenantId, connection_id: c.id, rate_date: date, trigger, status: result.error ? 'failed' : 'succeeded',
      rates_synced: result.rates_synced, error_code: result.error ?? null, started_at: started, finished_at: deps.clock(),
    }));
    if (result.error) deps.log?.warn({ connectionId: c.id, code: result.error }, 'exchange-rate sync of a company failed');
    return result;
  }

  /** The day to sync: today (UTC) by default; a later day has no rates yet and is refused before anything is read or written. */
  const dateOr = (date: string | undefined) => {
    const today = todayOf(deps.clock());
    if (date !== undefined && date > today) throw new AppError('VALIDATION_FAILED', `date: ${date} is after today (${today}, UTC)`);
    return date ?? today;
  };

  /** One company (a QuickBooks connection of the tenant; 404 for anything else). */
  async function syncCompany(p: Pick<TenantPrincipal, 'tenantId'>, connectionId: string, date?: string, trigger: Trigger = 'manual') {
    const day = dateOr(date);
    const company = (await companies(p.tenantId)).find((c) => c.id === connectionId);
    if (!company) throw new AppError('NOT_FOUND', 'No QuickBooks company with this connection id');
    const s = (await settingsMap(p.tenantId)).get(connectionId);
    const quote = await source.ratesFor(day);
    return { date: day, rateDate: quote.date, source: quote.source, ...(await syncOne(p.tenantId, company, day, quote, s?.currencies ?? null, trigger)) };
  }

  /** Every enabled company of the tenant; one failing company does not stop the others. */
  async function syncAll(p: Pick<TenantPrincipal, 'tenantId'>, date?: string, trigger: Trigger = 'manual') {
    const day = dateOr(date);
    const settings = await settingsMap(p.tenantId);
    const todo = (await companies(p.tenantId)).filter((c) => settings.get(c.id)?.enabled !== false);
    // One read of the source for every company (the reference's cache of the day's rates).
    const quote = todo.length ? await source.ratesFor(day) : null;
    const results: CompanyResult[] = new Array(todo.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(COMPANIES_AT_ONCE, todo.length) }, async () => {
      for (let i = next++; i < todo.length; i = next++) {
        results[i] = await syncOne(p.tenantId, todo[i]!, day, quote!, settings.get(todo[i]!.id)?.currencies ?? null, trigger);
      }
    }));
    const failed = results.filter((r) => r.error).length;
    return { date: day, rateDate: quote?.date ?? null, source: quote?.source ?? null, total: results.length, successful: results.length - failed, failed, results };
  }

  async function getSettings(p: Pick<TenantPrincipal, 'tenantId'>) {
    const settings = await settingsMap(p.tenantId);
    return (await companies(p.tenantId)).map((c) => ({
      connection: c.id, label: c.label, company: c.realmId, enabled: settings.get(c.id)?.enabled ?? true, currencies: settings.get(c.id)?.currencies ?? null,
    }));
  }

  async function putSettings(p: Pick<TenantPrincipal, 'tenantId'>, connectionId: string, input: { enabled?: boolean | undefined; currencies?: string[] | null | undefined }) {
    const company = (await companies(p.tenantId)).find((c) => c.id === connectionId);
    if (!company) throw new AppError('NOT_FOUND', 'No QuickBooks company with this connection id');
    const current = (await settingsMap(p.tenantId)).get(connectionId);
    const next = {
      enabled: input.enabled ?? current?.enabled ?? true,
      currencies: input.currencies === undefined ? (current?.currencies ?? null) : input.currencies === null ? null : [...new Set(input.currencies)].sort(),
    };
    await inTenant(p.tenantId, (tx) => deps.repo.putSettings(tx, { tenant_id: p.tenantId, connection_id: connectionId, ...next, updated_at: deps.clock() }));
    return { connection: connectionId, label: company.label, company: company.realmId, ...next };
  }

  async function rates(p: Pick<TenantPrincipal, 'tenantId'>, f: { connectionId?: string; date?: string; limit: number }) {
    const rows = await inTenant(p.tenantId, (tx) => deps.repo.rates(tx, p.tenantId, f));
    return rows.map((r) => ({
      connection: r.connection_id, currency: r.currency, date: r.rate_date, homeCurrency: r.home_currency, rate: r.rate, source: r.source,
      syncedAt: r.synced_at ? r.synced_at.toISOString() : null, error: r.error_code,
    }));
  }

  async function status(p: Pick<TenantPrincipal, 'tenantId'>) {
    const [list, settings, stats] = await Promise.all([companies(p.tenantId), settingsMap(p.tenantId), inTenant(p.tenantId, (tx) => deps.repo.stats(tx, p.tenantId))]);
    const rates = new Map(stats.rates.map((r) => [r.connection_id, r]));
    const runs = new Map(stats.runs.map((r) => [r.connection_id, r]));
    return list.map((c) => {
      const r = rates.get(c.id);
      const s = runs.get(c.id);
      const total = Number(r?.total ?? 0);
      const synced = Number(r?.synced ?? 0);
      return {
        connection: c.id, label: c.label, company: c.realmId, connectionStatus: c.status, enabled: settings.get(c.id)?.enabled ?? true,
        lastSyncAt: s?.last_success ? new Date(s.last_success).toISOString() : null, lastAttemptAt: s?.last_at ? new Date(s.last_at).toISOString() : null,
        rates: { total, synced, pending: total - synced },
        syncing: { total: Number(s?.total ?? 0), successful: Number(s?.successful ?? 0), failed: Number(s?.total ?? 0) - Number(s?.successful ?? 0) },
      };
    });
  }

  return {
    syncCompany, syncAll, getSettings, putSettings, rates, status,
    tenantsWithCompanies: deps.repo.tenantsWithCompanies,
    /** Replaces the rate source (tests and demo point it at the sandbox). */
    useSource: (s: RateSource) => { source = s; },
  };
}
export type ExchangeRatesService = ReturnType<typeof createExchangeRatesService>;
