import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { AppError } from '../../platform/errors.js';

/**
 * One day's reference rates: how many units of each currency one unit of `base` buys
 * (`rates[base]` is 1 by definition). `date` is the day the rates are for, which may be earlier
 * than the day asked for (no fixing on weekends and holidays).
 */
export type RateQuote = { source: string; base: string; date: string; rates: Readonly<Record<string, number>> };

/**
 * Where the daily rates come from. Throws AppError INTEGRATION_UNAVAILABLE when it cannot answer
 * (try again later), RATES_NOT_AVAILABLE when it answered but has no rates that far back.
 */
export type RateSource = { id: string; ratesFor(date: string): Promise<RateQuote> };

const CURRENCY = /^[A-Z]{3}$/;
const unavailable = (source: string) => new AppError('INTEGRATION_UNAVAILABLE', `The exchange-rate source (${source}) could not be read; try again later`);

/**
 * The rate of one `currency` in `home` units (what an accounting company stores: home units per
 * one foreign unit), crossed through the quote's base: rate(X→home) = base→home / base→X.
 * Ten significant digits: enough for a rate like IDR→EUR (6.6e-5) without float noise.
 */
export function intoHome(quote: RateQuote, currency: string, home: string): number | null {
  const perBase = (c: string) => (c === quote.base ? 1 : quote.rates[c]);
  const x = perBase(currency);
  const h = perBase(home);
  if (!x || !h || currency === home) return null;
  return Number((h / x).toPrecision(10));
}

/**
 * The ECB's euro foreign exchange reference rates (eurofxref-daily.xml; the -hist-90d file has the
 * same shape with one `<Cube time>` per day): `<Cube time='YYYY-MM-DD'><Cube currency='USD'
 * rate='1.0163'/>…`, units of each currency per euro.
 * https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html
 * Picks the latest day not after `date`.
 */
export function parseEcbXml(xml: string, date: string): RateQuote | null {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, isArray: (name) => name === 'Cube' }).parse(xml) as unknown;
  const Day = z.object({ time: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), Cube: z.array(z.object({ currency: z.string(), rate: z.coerce.number() })).default([]) });
  const Doc = z.object({ Envelope: z.object({ Cube: z.array(z.object({ Cube: z.array(Day).default([]) })).min(1) }) });
  const parsed = Doc.safeParse(doc);
  if (!parsed.success) return null;
  const days = parsed.data.Envelope.Cube[0]!.Cube.filter((d) => d.time <= date).sort((a, b) => b.time.localeCompare(a.time));
  const day = days[0];
  if (!day) return null;
  const rates: Record<string, number> = { EUR: 1 };
  for (const c of day.Cube) if (CURRENCY.test(c.currency) && Number.isFinite(c.rate) && c.rate > 0) rates[c.currency] = c.rate;
  return { source: 'ecb', base: 'EUR', date: day.time, rates };
}

export const ECB_DAILY_URL = 'https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml';
export const ECB_90_DAYS_URL = 'https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml';

type Fetch = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

/** The ECB's files: today's for today, the 90-day history for an earlier date. */
export function ecbRateSource(send: Fetch, opts: { today: () => string; timeoutMs?: number }): RateSource {
  return {
    id: 'ecb',
    async ratesFor(date) {
      const url = date >= opts.today() ? ECB_DAILY_URL : ECB_90_DAYS_URL;
      let xml: string;
      try {
        const res = await send(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        xml = await res.text();
      } catch {
        throw unavailable('ecb');
      }
      const quote = parseEcbXml(xml, date);
      // A file that reads fine for the latest date holds days, only none this early: a retry will not help.
      if (!quote && parseEcbXml(xml, '9999-12-31')) throw new AppError('RATES_NOT_AVAILABLE', `The exchange-rate source (ecb) has no rates for ${date}; it covers the last 90 days`);
      if (!quote) throw unavailable('ecb');
      return quote;
    },
  };
}

/**
 * A daily-rates API in Frankfurter's format (`GET <base>/<YYYY-MM-DD>?from=EUR` →
 * `{ amount: 1, base, date, rates }`; https://frankfurter.dev). The sandbox plays it.
 */
export function dailyRatesApiSource(send: Fetch, baseUrl: string, opts: { timeoutMs?: number } = {}): RateSource {
  const Answer = z.object({ base: z.string().regex(CURRENCY), date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), rates: z.record(z.string().regex(CURRENCY), z.number().positive()) });
  return {
    id: 'daily-rates-api',
    async ratesFor(date) {
      try {
        const res = await send(`${baseUrl.replace(/\/$/, '')}/${date}?from=EUR`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        const a = Answer.parse(await res.json());
        return { source: 'daily-rates-api', base: a.base, date: a.date, rates: { ...a.rates, [a.base]: 1 } };
      } catch {
        throw unavailable('daily-rates-api');
      }
    },
  };
}
