/**
 * What each provider's records contribute to working capital, in cents of the company's home
 * currency. Each record is converted and rounded to the cent on its own, then summed, so the
 * total is exact and the same however records are grouped.
 */
type Payload = Record<string, unknown>;

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const toCents = (amount: number) => Math.round(amount * 100);

/** Xero counts what is due on approved invoices only: drafts, paid, voided and deleted ones owe nothing yet or any more. */
const XERO_OPEN = new Set(['AUTHORISED', 'SUBMITTED']);

/**
 * A Xero invoice (ACCREC: receivable) or bill (ACCPAY: payable): `AmountDue` in its currency,
 * ÷ `CurrencyRate` (units of that currency per unit of the base currency) for the base currency.
 * https://developer.xero.com/documentation/api/accounting/invoices
 */
export function xeroContribution(inv: Payload): { side: 'receivable' | 'payable'; cents: number } | null {
  if (!XERO_OPEN.has(String(inv.Status))) return null;
  const rate = num(inv.CurrencyRate) || 1;
  const side = inv.Type === 'ACCREC' ? 'receivable' : inv.Type === 'ACCPAY' ? 'payable' : null;
  return side ? { side, cents: toCents(num(inv.AmountDue) / rate) } : null;
}

/**
 * A QuickBooks invoice or bill: `Balance` (still owed, in its currency) × `ExchangeRate` (home
 * currency per unit of it; absent on home-currency transactions).
 * https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-multiple-currencies
 */
export function quickbooksCents(txn: Payload): number {
  return toCents(num(txn.Balance) * (num(txn.ExchangeRate) || 1));
}

/** An Unleashed stock-on-hand line: `TotalCost` (quantity on hand at average cost). */
export function stockCents(item: Payload): number {
  return toCents(num(item.TotalCost));
}

export const fromCents = (cents: number) => cents / 100;

/**
 * (receivables + inventory) ÷ payables to 4 places, from cents (exact, rounded half up as the
 * snapshot table's numeric column does); null when nothing is payable.
 */
export function currentRatio(receivablesCents: number, inventoryCents: number | null, payablesCents: number): number | null {
  if (payablesCents <= 0) return null;
  return Math.round(((receivablesCents + (inventoryCents ?? 0)) * 10_000) / payablesCents) / 10_000;
}

/**
 * The home (base) currency a record tells, when it tells one: a Xero invoice needing no conversion
 * (`CurrencyRate` 1 or absent) is in the organisation's base currency; a QuickBooks transaction
 * without `ExchangeRate` is in the company's home currency.
 */
export function homeCurrencyOf(provider: 'xero' | 'quickbooks', txn: Payload): string | null {
  const code = provider === 'xero' ? txn.CurrencyCode : (txn.CurrencyRef as Payload | undefined)?.value;
  const converted = provider === 'xero' ? num(txn.CurrencyRate) !== 0 && num(txn.CurrencyRate) !== 1 : num(txn.ExchangeRate) !== 0 && num(txn.ExchangeRate) !== 1;
  return !converted && typeof code === 'string' && /^[A-Z]{3}$/.test(code) ? code : null;
}
