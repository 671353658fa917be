import type { Reply } from '../providers.js';
import { USD_PER } from '../quickbooks/exchange-rates.js';

/**
 * A public daily-rates API in Frankfurter's wire format (the ECB's reference rates as JSON):
 * `GET /rates/{YYYY-MM-DD}?from=EUR` → `{ amount: 1, base: 'EUR', date, rates: { USD: 1.08, … } }`.
 * https://frankfurter.dev (api.frankfurter.app/2024-01-15?from=EUR). Rates vary a little by date,
 * so two days never carry the same figures; the same day always does.
 */
export function dailyRates(path: string, url: URL): Reply {
  const m = /^\/(\d{4}-\d{2}-\d{2})$/.exec(path);
  if (!m || Number.isNaN(Date.parse(m[1]!))) return { status: 404, body: { message: 'not found' } };
  const base = (url.searchParams.get('from') ?? 'EUR').toUpperCase();
  if (!(base in USD_PER)) return { status: 404, body: { message: 'not found' } };
  const day = Math.floor(Date.parse(m[1]!) / 86_400_000);
  const rates: Record<string, number> = {};
  for (const [code, usd] of Object.entries(USD_PER)) {
    if (code === base) continue;
    // A per-day, per-currency drift of at most ±0.5 %.
    const drift = 1 + (((day * 7 + code.charCodeAt(0) * 13 + code.charCodeAt(2)) % 11) - 5) / 1000;
    rates[code] = Math.round((USD_PER[base]! / usd) * drift * 1e4) / 1e4;
  }
  return { status: 200, body: { amount: 1, base, date: m[1], rates } };
}
