import { z } from 'zod';
import { type SyncDefinition, SyncReadError } from '../adapter.js';

/** Unleashed's largest page (its default is 200). https://apidocs.unleashedsoftware.com/Pagination */
const PAGE_SIZE = 1000;

/**
 * A stock-on-hand item (one per product, across warehouses when no warehouse is asked for); only
 * the fields Keyhold relies on are named. https://apidocs.unleashedsoftware.com/StockOnHand
 */
const StockOnHand = z.looseObject({
  ProductGuid: z.string().min(1),
  ProductCode: z.string(),
  ProductDescription: z.string().nullable().optional(),
  QtyOnHand: z.number(),
  AvailableQty: z.number(),
  AvgCost: z.number().nullable().optional(),
  TotalCost: z.number().nullable().optional(),
  LastModifiedOn: z.string().nullable().optional(),
});

const Answer = z.object({
  Pagination: z.object({ NumberOfPages: z.number().int().min(0), PageNumber: z.number().int().min(1) }),
  Items: z.array(z.record(z.string(), z.unknown())),
});

/** Unleashed writes dates as Microsoft JSON dates: `/Date(1443052800000)/`. */
export function unleashedDate(v: unknown): Date | null {
  const m = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(String(v ?? ''));
  return m ? new Date(Number(m[1])) : null;
}

/**
 * Stock on hand, page by page (`GET /StockOnHand/{page}`, pages from 1, the answer's
 * `Pagination.NumberOfPages` says when to stop), full or modified since a checkpoint
 * (`modifiedSince`, a UTC date-time). Requests are signed by the adapter (index.ts).
 * https://apidocs.unleashedsoftware.com/StockOnHand
 */
export const unleashedStockOnHand: SyncDefinition = {
  model: 'unleashed_stock_on_hand',
  schema: StockOnHand,
  incremental: true,
  defaultFrequencyMinutes: 60,
  // Page numbers: an item deleted on a page already read moves the next one onto that page.
  offsetPaging: true,
  async fetchPage({ page, checkpoint, call }) {
    const number = page === null ? 1 : Number(page);
    const q = new URLSearchParams({ pageSize: String(PAGE_SIZE) });
    // A UTC date-time without a zone, as Unleashed's date filters take it.
    const since = checkpoint ? Date.parse(checkpoint) : Number.NaN;
    if (!Number.isNaN(since)) q.set('modifiedSince', new Date(since).toISOString().slice(0, 19));
    const answer = await call(`/StockOnHand/${number}?${q}`);
    if (answer.status !== 200) throw new SyncReadError(`http_${answer.status}`, `Unleashed answered ${answer.status} to a stock page`);
    const parsed = Answer.safeParse(answer.body);
    if (!parsed.success) throw new SyncReadError('malformed_answer', 'Unleashed answered a stock page without items');
    return {
      records: parsed.data.Items.map((s) => ({ id: String(s.ProductGuid ?? ''), data: s })),
      next: number < parsed.data.Pagination.NumberOfPages ? String(number + 1) : null,
    };
  },
  checkpointOf: (s) => unleashedDate(s.LastModifiedOn)?.toISOString() ?? '',
};
