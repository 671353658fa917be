import { createHash } from 'node:crypto';
import type { Reply } from './providers.js';

/**
 * Unleashed's stock on hand, one data set per API id (deterministic until a test changes it):
 * `GET /StockOnHand/{page}?pageSize=&modifiedSince=`, pages numbered from 1, `pageSize` 1–1000
 * (default 200), `modifiedSince` a UTC date or date-time; the answer's `Pagination` block says
 * how many pages there are. Dates are Microsoft JSON dates (`/Date(ms)/`), as Unleashed writes them.
 * https://apidocs.unleashedsoftware.com/StockOnHand, https://apidocs.unleashedsoftware.com/Pagination
 */
export const STOCK_SIZE = 1_250;
const DEFAULT_PAGE_SIZE = 200;
const MAX_PAGE_SIZE = 1_000;
const EPOCH = Date.UTC(2026, 9, 1);

type StockItem = Record<string, unknown> & { ProductGuid: string; ProductCode: string; AvailableQty: number; QtyOnHand: number; AvgCost: number; TotalCost: number; LastModifiedOn: string };
const stocks = new Map<string, StockItem[]>();

const guid = (seed: string) => {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const msDate = (ms: number) => `/Date(${ms})/`;

function stockOf(apiId: string): StockItem[] {
  let list = stocks.get(apiId);
  if (!list) {
    list = Array.from({ length: STOCK_SIZE }, (_, i) => {
      const qty = (i * 7) % 60;
      const cost = 2 + (i % 9) * 1.25;
      return {
        Guid: guid(`soh:${apiId}:${i}`), ProductGuid: guid(`product:${apiId}:${i}`), ProductCode: `UL-${String(i).padStart(4, '0')}`,
        ProductDescription: `Unleashed product ${i}`, ProductGroupName: 'Sandbox', Warehouse: null, WarehouseId: null,
        QtyOnHand: qty + 3, AllocatedQty: 3, AvailableQty: qty, OnPurchase: 0, AvgCost: cost, TotalCost: Math.round((qty + 3) * cost * 100) / 100,
        LastModifiedOn: msDate(EPOCH + i * 60_000),
      };
    });
    stocks.set(apiId, list);
  }
  return list;
}

/** Tests change stock: `set(apiId, productCode, availableQty, at)`; `list(apiId)`. */
export const unleashedStock = {
  set(apiId: string, productCode: string, availableQty: number, at: Date): boolean {
    const item = stockOf(apiId).find((s) => s.ProductCode === productCode);
    if (!item) return false;
    Object.assign(item, { AvailableQty: availableQty, QtyOnHand: availableQty + 3, TotalCost: Math.round((availableQty + 3) * item.AvgCost * 100) / 100, LastModifiedOn: msDate(at.getTime()) });
    return true;
  },
  list: (apiId: string) => stockOf(apiId).map((s) => ({ ...s })),
};

const badRequest = (description: string): Reply => ({ status: 400, body: { description } });

/** One page of stock on hand; `page` from the path (1 when absent). */
export function stockOnHand(apiId: string, pageRaw: string | undefined, url: URL): Reply {
  const page = pageRaw === undefined ? 1 : Number(pageRaw);
  if (!Number.isInteger(page) || page < 1) return badRequest('Page number must be a positive integer');
  const sizeRaw = url.searchParams.get('pageSize');
  const pageSize = sizeRaw === null ? DEFAULT_PAGE_SIZE : Number(sizeRaw);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) return badRequest('pageSize must be between 1 and 1000');
  const sinceRaw = url.searchParams.get('modifiedSince');
  // A date-time without a zone is UTC in Unleashed's filters.
  const since = sinceRaw === null ? null : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(sinceRaw) || !sinceRaw.includes('T') ? sinceRaw : `${sinceRaw}Z`);
  if (since !== null && Number.isNaN(since)) return badRequest('modifiedSince is not a date');
  const all = stockOf(apiId).filter((s) => since === null || Number(/\d+/.exec(s.LastModifiedOn)![0]) >= since);
  const items = all.slice((page - 1) * pageSize, page * pageSize);
  return {
    status: 200,
    body: {
      Pagination: { NumberOfItems: all.length, PageSize: pageSize, PageNumber: page, NumberOfPages: Math.max(1, Math.ceil(all.length / pageSize)) },
      Items: items.map((s) => ({ ...s })),
    },
  };
}
