import { z } from 'zod';
import { type SyncDefinition, SyncReadError } from '../adapter.js';
import { DEFAULT_MARKETPLACE, MARKETPLACES } from './marketplaces.js';

/**
 * An FBA inventory summary; only the fields Keyhold relies on are named.
 * https://developer-docs.amazon.com/sp-api/docs/fba-inventory-api-v1-reference#inventorysummary
 */
const InventorySummary = z.looseObject({
  sellerSku: z.string().min(1),
  asin: z.string().optional(),
  fnSku: z.string().optional(),
  productName: z.string().optional(),
  totalQuantity: z.number().int().optional(),
  lastUpdatedTime: z.string().optional(),
  inventoryDetails: z.looseObject({ fulfillableQuantity: z.number().int().optional() }).optional(),
});

const Answer = z.object({
  payload: z.object({ inventorySummaries: z.array(z.record(z.string(), z.unknown())) }),
  pagination: z.object({ nextToken: z.string().min(1).optional() }).optional(),
});

/**
 * FBA inventory of the connection's marketplace (`getInventorySummaries`, with `details=true` for
 * the fulfillable quantity; its default is false). Paged by `nextToken`, which expires 30 s after
 * it was issued; an incremental run passes `startDateTime` on every page, as Amazon requires with
 * a token ("use both startDateTime and nextToken"). Amazon returns summaries changed *after*
 * `startDateTime`, so the reader asks from one second before its checkpoint (a summary changed in
 * the checkpoint's own second is read again, and not rewritten when unchanged).
 * https://developer-docs.amazon.com/sp-api/docs/fba-inventory-api-v1-reference#getinventorysummaries,
 * https://developer-docs.amazon.com/sp-api/docs/get-fba-inventory-summaries
 * The operation's usage plan (2 requests/s, burst 2) is the catalog's rate limit, applied by Keyhold.
 */
export const amazonFbaInventory: SyncDefinition = {
  model: 'amazon_fba_inventory',
  schema: InventorySummary,
  incremental: true,
  defaultFrequencyMinutes: 60,
  async fetchPage({ page, checkpoint, call, config }) {
    // Absent: the US marketplace, as authorize takes a seller connected without one. Unknown:
    // reading another marketplace would store the wrong stock, so the run fails.
    const marketplace = config.marketplaceId ?? DEFAULT_MARKETPLACE;
    if (!MARKETPLACES[marketplace]) throw new SyncReadError('config_missing', 'The Amazon connection names a marketplace Keyhold does not know');
    const q = new URLSearchParams({ details: 'true', granularityType: 'Marketplace', granularityId: marketplace, marketplaceIds: marketplace });
    const since = checkpoint ? Date.parse(checkpoint) : Number.NaN;
    if (!Number.isNaN(since)) q.set('startDateTime', new Date(since - 1000).toISOString());
    if (page !== null) q.set('nextToken', page);
    const answer = await call(`/fba/inventory/v1/summaries?${q}`);
    if (answer.status !== 200) throw new SyncReadError(`http_${answer.status}`, `Amazon answered ${answer.status} to an inventory page`);
    const parsed = Answer.safeParse(answer.body);
    if (!parsed.success) throw new SyncReadError('malformed_answer', 'Amazon answered an inventory page without inventory summaries');
    return {
      records: parsed.data.payload.inventorySummaries.map((s) => ({ id: String(s.sellerSku ?? ''), data: s })),
      next: parsed.data.pagination?.nextToken ?? null,
    };
  },
  // A summary without a time (Amazon leaves it empty for some) does not move the checkpoint.
  checkpointOf: (s) => {
    const t = Date.parse(String(s.lastUpdatedTime ?? ''));
    return Number.isNaN(t) ? '' : new Date(t).toISOString();
  },
};
