import type { Reply } from '../providers.js';
import { json } from '../oauth/http.js';
import { intuitTime } from './data.js';

/**
 * QuickBooks Online companies as the exchange-rate writer sees them: each realm has its own home
 * currency, its active foreign currencies and the rates set for it, read with
 * `GET /v3/company/{realm}/exchangerate?sourcecurrencycode=&asofdate=` and written with
 * `POST /v3/company/{realm}/exchangerate` (SyncToken for optimistic locking: a stale one is
 * Intuit's 5010 fault). https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/exchangerate
 * The home currency is in Preferences (`CurrencyPrefs.HomeCurrency`):
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/preferences
 * https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-multiple-currencies
 */

/** Market rates the sandbox's companies start from: US dollars per one unit of the currency. */
export const USD_PER: Readonly<Record<string, number>> = {
  USD: 1, EUR: 1.08, GBP: 1.27, CAD: 0.73, AUD: 0.66, CHF: 1.13, JPY: 0.0067, SEK: 0.095, NOK: 0.092, DKK: 0.145, NZD: 0.6, PLN: 0.25,
};

type Stored = { rate: number; syncToken: number; updatedMs: number };
type Company = { home: string; currencies: Set<string>; rates: Map<string, Stored>; failure: { status: number } | null; writes: number; /** Reads still to be overtaken by another user's write. */ overtaken: number; /** Deactivated by someone right after the next currency listing. */ dropAfterListing: string[];
  /** The first answer to each POST's `requestid`: a resent POST gets it again and writes nothing. */ answered: Map<string, Reply>; /** POSTs still to be applied with their answer lost on the way back. */ lose: number };

const companies = new Map<string, Company>();

function companyOf(realm: string): Company {
  let c = companies.get(realm);
  if (!c) {
    c = { home: 'USD', currencies: new Set(Object.keys(USD_PER).filter((x) => x !== 'USD')), rates: new Map(), failure: null, writes: 0, overtaken: 0, dropAfterListing: [], answered: new Map(), lose: 0 };
    companies.set(realm, c);
  }
  return c;
}

const key = (source: string, date: string) => `${source}|${date}`;
const round = (n: number) => Math.round(n * 1e6) / 1e6;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const fault = (now: number, status: number, type: string, message: string, detail: string, code: string): Reply =>
  json(status, { Fault: { Error: [{ Message: message, Detail: detail, code, element: '' }], type }, time: intuitTime(now) });
const validation = (now: number, message: string, detail: string, code: string) => fault(now, 400, 'ValidationFault', message, detail, code);
const systemFault = (now: number, status: number) =>
  fault(now, status, 'SystemFault', 'An application error has occurred while processing your request', 'System Failure Error: An unexpected error occurred while accessing or saving your data.', '10000');

function row(c: Company, source: string, date: string) {
  const stored = c.rates.get(key(source, date));
  const rate = stored?.rate ?? round(USD_PER[source]! / USD_PER[c.home]!);
  return {
    SyncToken: String(stored?.syncToken ?? 0), domain: 'QBO', AsOfDate: date, SourceCurrencyCode: source, Rate: rate, sparse: false,
    TargetCurrencyCode: c.home, ...(stored ? { MetaData: { LastUpdatedTime: intuitTime(stored.updatedMs) } } : {}),
  };
}

/** `GET /v3/company/{realm}/exchangerate?sourcecurrencycode=EUR[&asofdate=YYYY-MM-DD]` */
function read(c: Company, url: URL, now: number): Reply {
  const params = new Map([...url.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
  const source = params.get('sourcecurrencycode')?.toUpperCase();
  if (!source) return validation(now, 'Required param missing, need to supply the required value for the API', 'Required parameter sourcecurrencycode is missing in the request', '2020');
  if (!c.currencies.has(source)) return validation(now, 'Invalid Reference Id', `Invalid Reference Id : currency ${source} is not active in this company`, '2500');
  const asOf = params.get('asofdate') ?? new Date(now).toISOString().slice(0, 10);
  if (!DATE.test(asOf)) return validation(now, 'Invalid date', `asofdate must be yyyy-MM-dd: ${asOf.slice(0, 20)}`, '2010');
  const answer = row(c, source, asOf);
  if (c.overtaken > 0) {
    // Someone else saves this rate right after our read: the SyncToken just read is stale.
    c.overtaken--;
    const current = c.rates.get(key(source, asOf));
    c.rates.set(key(source, asOf), { rate: current?.rate ?? answer.Rate, syncToken: (current?.syncToken ?? 0) + 1, updatedMs: now });
  }
  return json(200, { ExchangeRate: answer, time: intuitTime(now) });
}

/** `POST /v3/company/{realm}/exchangerate` with the ExchangeRate object (SyncToken of the version read). */
function write(c: Company, body: string, now: number): Reply {
  let e: Record<string, unknown>;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    e = parsed as Record<string, unknown>;
  } catch {
    return validation(now, 'Request has invalid or unsupported property', 'Property Name:Can not deserialize instance specified is unsupported or invalid', '2010');
  }
  const source = typeof e.SourceCurrencyCode === 'string' ? e.SourceCurrencyCode.toUpperCase() : '';
  const date = typeof e.AsOfDate === 'string' ? e.AsOfDate : '';
  const missing = ['SourceCurrencyCode', 'Rate', 'AsOfDate', 'SyncToken'].find((f) => e[f] === undefined || e[f] === null || e[f] === '');
  if (missing) return validation(now, 'Required param missing, need to supply the required value for the API', `Required parameter ${missing} is missing in the request`, '2020');
  if (!DATE.test(date)) return validation(now, 'Invalid date', `AsOfDate must be yyyy-MM-dd: ${date.slice(0, 20)}`, '2010');
  if (typeof e.Rate !== 'number' || !Number.isFinite(e.Rate) || e.Rate <= 0) return validation(now, 'Invalid Number', 'Rate must be a positive number', '2040');
  if (source === c.home) return validation(now, 'A business validation error has occurred while processing your request', 'Business Validation Error: You cannot set an exchange rate for the home currency.', '6000');
  if (e.TargetCurrencyCode !== undefined && String(e.TargetCurrencyCode).toUpperCase() !== c.home) {
    return validation(now, 'A business validation error has occurred while processing your request', 'Business Validation Error: TargetCurrencyCode must be the home currency.', '6000');
  }
  if (!c.currencies.has(source)) return validation(now, 'Invalid Reference Id', `Invalid Reference Id : currency ${source} is not active in this company`, '2500');
  const current = c.rates.get(key(source, date))?.syncToken ?? 0;
  if (String(e.SyncToken) !== String(current)) {
    return validation(now, 'Stale Object Error', 'Stale Object Error : You and root were working on this at the same time. root finished before you did, so your work was not saved.', '5010');
  }
  c.rates.set(key(source, date), { rate: e.Rate, syncToken: current + 1, updatedMs: now });
  c.writes++;
  return json(200, { ExchangeRate: row(c, source, date), time: intuitTime(now) });
}

/** `GET /v3/company/{realm}/preferences` (only the part the exchange-rate writer reads, plus its neighbours). */
function preferences(c: Company, now: number): Reply {
  return json(200, {
    Preferences: {
      CurrencyPrefs: { MultiCurrencyEnabled: true, HomeCurrency: { value: c.home } },
      AccountingInfoPrefs: { FirstMonthOfFiscalYear: 'January', BookCloseDate: '2025-12-31' },
      domain: 'QBO', sparse: false, Id: '1', SyncToken: '0',
    },
    time: intuitTime(now),
  });
}

const CURRENCY_QUERY = /^\s*select\s+\*\s+from\s+companycurrency(\s+where\s+active\s*=\s*(true|false))?(?:\s+startposition\s+(\d+))?(?:\s+maxresults\s+(\d+))?\s*$/i;

/**
 * `GET /v3/company/{realm}/query?query=select * from CompanyCurrency [where Active = true]`: the
 * company's foreign currencies (never the home currency). Null for any other query.
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companycurrency
 */
export function quickbooksCompanyQuery(realm: string, query: string, now: number): Reply | null {
  const m = CURRENCY_QUERY.exec(query);
  if (!m) return null;
  const c = companyOf(realm);
  if (c.failure) return systemFault(now, c.failure.status);
  const rows = [...c.currencies].sort().map((code, i) => ({ Code: code, Name: code, Active: true, domain: 'QBO', sparse: false, Id: String(i + 1), SyncToken: '0' }))
    .filter((r) => !m[1] || String(r.Active) === m[2]!.toLowerCase());
  for (const code of c.dropAfterListing.splice(0)) c.currencies.delete(code);
  const from = Math.max(1, Number(m[3] ?? 1));
  const page = rows.slice(from - 1, from - 1 + Math.min(1000, Number(m[4] ?? 100)));
  if (page.length === 0) return json(200, { QueryResponse: {}, time: intuitTime(now) });
  return json(200, { QueryResponse: { CompanyCurrency: page, startPosition: from, maxResults: page.length }, time: intuitTime(now) });
}

/**
 * Intuit's `requestid` on a write: a repeated requestid (per company) is answered with the first
 * response, whatever it was, and nothing is applied again.
 * https://blogs.intuit.com/2015/04/06/15346/ (Request ID update for QuickBooks Online integration)
 */
function idempotent(c: Company, url: URL, apply: () => Reply): Reply {
  const rid = [...url.searchParams].find(([k]) => k.toLowerCase() === 'requestid')?.[1];
  const seen = rid ? c.answered.get(rid) : undefined;
  const reply = seen ?? apply();
  if (rid && !seen) c.answered.set(rid, reply);
  if (!seen && c.lose > 0) {
    c.lose--;
    return { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', headers: { 'content-type': 'text/html' } };
  }
  return reply;
}

/** The company's data routes (the caller checked the token's realm); null when the path is not one of them. */
export function quickbooksCompanyRoute(realm: string, what: string, method: string, url: URL, body: string, now: number): Reply | null {
  const c = companyOf(realm);
  const route = what === 'exchangerate' && method === 'GET' ? () => read(c, url, now)
    : what === 'exchangerate' && method === 'POST' ? () => idempotent(c, url, () => write(c, body, now))
      : what === 'preferences' && method === 'GET' ? () => preferences(c, now) : null;
  if (!route) return null;
  if (c.failure) return systemFault(now, c.failure.status);
  return route();
}

/** Tests shape and break the sandbox's companies by realm id. */
export const quickbooksCompanies = {
  /** A company's home currency and active foreign currencies (default USD with every other sandbox currency). */
  configure(realm: string, o: { homeCurrency?: string; currencies?: string[] }) {
    const c = companyOf(realm);
    if (o.homeCurrency) c.home = o.homeCurrency;
    if (o.currencies) c.currencies = new Set(o.currencies);
    else c.currencies = new Set(Object.keys(USD_PER).filter((x) => x !== c.home));
  },
  /** Every data call of this company fails with Intuit's system fault (default 500) until `heal`. */
  fail(realm: string, status = 500) {
    companyOf(realm).failure = { status };
  },
  heal(realm: string) {
    companyOf(realm).failure = null;
  },
  /** The next `reads` exchange-rate reads are each followed at once by another user's save (their SyncToken goes stale). */
  overtake(realm: string, reads = 1) {
    companyOf(realm).overtaken = reads;
  },
  /** Someone deactivates these currencies right after the next CompanyCurrency listing (the listing still has them). */
  deactivateAfterListing(realm: string, codes: string[]) {
    companyOf(realm).dropAfterListing = [...codes];
  },
  /** The next `posts` exchange-rate writes are applied, but their answer is lost on the way back (a gateway's 502). */
  loseAnswers(realm: string, posts = 1) {
    companyOf(realm).lose = posts;
  },
  /** The rates set in this company (what writes changed), oldest first. */
  rates(realm: string) {
    const c = companyOf(realm);
    return [...c.rates.entries()].map(([k, v]) => {
      const [source, date] = k.split('|') as [string, string];
      return { SourceCurrencyCode: source, TargetCurrencyCode: c.home, AsOfDate: date, Rate: v.rate, SyncToken: String(v.syncToken) };
    });
  },
  /** How many writes this company accepted. */
  writes: (realm: string) => companyOf(realm).writes,
};
