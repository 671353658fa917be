import { z } from 'zod';
import { type SyncDefinition, SyncReadError } from '../adapter.js';

/** The REST Admin API version the readers speak (the catalog's verify request uses the same). */
export const API_VERSION = '2025-07';
/** Shopify's largest REST page. https://shopify.dev/docs/api/admin-rest/usage/pagination */
export const PAGE_SIZE = 250;

/**
 * An order as the REST Admin API returns it; only the fields Keyhold relies on are named, the
 * rest are kept as they come. https://shopify.dev/docs/api/admin-rest/latest/resources/order
 */
const Order = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  currency: z.string(),
  total_price: z.string(),
  financial_status: z.string().nullable(),
  fulfillment_status: z.string().nullable(),
  line_items: z.array(z.looseObject({ id: z.number().int(), quantity: z.number().int() })),
});

/** `page_info` of the `Link: <…>; rel="next"` header (the URL's host may be the store or Keyhold's proxy). */
export function nextPageInfo(link: string | undefined): string | null {
  const next = /<([^>]+)>;\s*rel="next"/.exec(link ?? '')?.[1];
  return next ? new URL(next).searchParams.get('page_info') : null;
}

/**
 * The query of one list page: `page_info` and `limit` alone on later pages (Shopify refuses the
 * filters with it), the filters and `updated_at_min` (when incremental) on the first.
 * https://shopify.dev/docs/api/admin-rest/usage/pagination
 */
export function listQuery(page: string | null, checkpoint: string | null, filters: Record<string, string> = {}) {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (page !== null) q.set('page_info', page);
  else {
    for (const [k, v] of Object.entries(filters)) q.set(k, v);
    if (checkpoint !== null) q.set('updated_at_min', checkpoint);
  }
  return q;
}

/**
 * Orders, full or changed since a checkpoint (`updated_at_min`, inclusive, in UTC). Cursor
 * pagination: the filters go with the first request only; later pages carry just `page_info`
 * and `limit`. `status=any` because the list endpoint returns only open orders by default.
 * Shopify's REST list does not report deleted orders: a full run finds them.
 */
export const shopifyOrders: SyncDefinition = {
  model: 'shopify_orders',
  schema: Order,
  incremental: true,
  defaultFrequencyMinutes: 60,
  async fetchPage({ page, checkpoint, call }) {
    const q = listQuery(page, checkpoint, { status: 'any' });
    const answer = await call(`/admin/api/${API_VERSION}/orders.json?${q}`);
    if (answer.status !== 200) throw new SyncReadError(`http_${answer.status}`, `Shopify answered ${answer.status} to an orders page`);
    const orders = (answer.body as { orders?: unknown })?.orders;
    if (!Array.isArray(orders)) throw new SyncReadError('malformed_answer', 'Shopify answered an orders page without orders');
    return {
      records: orders.map((o: { id?: unknown }) => ({ id: String(o.id), data: o as Record<string, unknown> })),
      next: nextPageInfo(answer.header('link')),
    };
  },
  checkpointOf: (order) => new Date(String(order.updated_at)).toISOString(),
};
