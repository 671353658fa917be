/**
 * Sales of a Shopify store from its synced orders (REST Order objects).
 *
 * The rule: an order counts in a window when its `created_at` is within the last N×24 h up to now,
 * and it is neither cancelled (`cancelled_at` set: "the date and time when the order was
 * canceled; returns null if the order isn't canceled") nor voided (`financial_status` `voided`:
 * "the payments have been voided"). Its `total_price` ("the sum of all line item prices,
 * discounts, shipping, taxes, and tips in the shop currency") is added under its `currency`.
 * https://shopify.dev/docs/api/admin-rest/latest/resources/order
 * Refunds of orders that were not cancelled are not subtracted (`total_price` is what was sold).
 */
export type SalesWindow = { orders: number; sales: Array<{ currency: string; amount: string }> };

const DAY_MS = 86_400_000;
/** Amounts are summed exactly as integers of 1/10,000 (Shopify's amounts have at most 3 decimals). */
const SCALE = 4;
const DECIMAL = /^(-?)(\d+)(?:\.(\d{1,4}))?$/;

export function countsForSales(order: Record<string, unknown>): boolean {
  return (order.cancelled_at === null || order.cancelled_at === undefined) && order.financial_status !== 'voided';
}

export function salesIn(orders: Array<Record<string, unknown>>, now: Date, days: number): SalesWindow {
  const from = now.getTime() - days * DAY_MS;
  const sums = new Map<string, { units: bigint; decimals: number }>();
  let count = 0;
  for (const o of orders) {
    const at = Date.parse(String(o.created_at));
    if (Number.isNaN(at) || at < from || at > now.getTime() || !countsForSales(o)) continue;
    const m = DECIMAL.exec(String(o.total_price ?? ''));
    if (!m) continue;
    count++;
    const currency = String(o.currency ?? 'XXX');
    const frac = (m[3] ?? '').padEnd(SCALE, '0');
    const units = BigInt(`${m[1]}${m[2]}${frac}`);
    const s = sums.get(currency) ?? { units: 0n, decimals: 2 };
    sums.set(currency, { units: s.units + units, decimals: Math.max(s.decimals, m[3]?.length ?? 0) });
  }
  const sales = [...sums].sort(([a], [b]) => a.localeCompare(b)).map(([currency, s]) => ({ currency, amount: formatUnits(s.units, s.decimals) }));
  return { orders: count, sales };
}

function formatUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(SCALE + 1, '0');
  const whole = digits.slice(0, -SCALE);
  const frac = digits.slice(-SCALE).slice(0, decimals);
  return `${negative ? '-' : ''}${whole}${decimals > 0 ? `.${frac}` : ''}`;
}
