import { LOW_STOCK_MODELS } from '@keyhold/contract';

export type StockModel = (typeof LOW_STOCK_MODELS)[number];
export const isStockModel = (m: string): m is StockModel => (LOW_STOCK_MODELS as readonly string[]).includes(m);

type Payload = Record<string, unknown>;
const int = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null);

/**
 * What can be sold now, per model: Shopify's `available` at the location, Amazon's fulfillable
 * quantity (`inventoryDetails.fulfillableQuantity`, only with `details=true`), Unleashed's
 * `AvailableQty` (on hand less allocated). Null: the record does not say (an untracked item), so
 * it is never low.
 */
export function availableOf(model: StockModel, p: Payload): number | null {
  switch (model) {
    case 'shopify_inventory_levels': return int(p.available);
    case 'amazon_fba_inventory': return int((p.inventoryDetails as Payload | undefined)?.fulfillableQuantity);
    case 'unleashed_stock_on_hand': return int(p.AvailableQty);
  }
}

/** The merchant's SKU of the item (Shopify's comes from the variant of the level's inventory item). */
export function skuOf(model: StockModel, p: Payload, shopifySkus?: Map<number, string>): string | null {
  const s = model === 'shopify_inventory_levels' ? shopifySkus?.get(Number(p.inventory_item_id)) : model === 'amazon_fba_inventory' ? p.sellerSku : p.ProductCode;
  return typeof s === 'string' && s.length > 0 ? s : null;
}

/** inventory_item_id → SKU from a store's synced products (REST product variants). */
export function skusOfProducts(products: Payload[]): Map<number, string> {
  const skus = new Map<number, string>();
  for (const p of products) {
    for (const v of (p.variants as Payload[] | undefined) ?? []) {
      if (typeof v.inventory_item_id === 'number' && typeof v.sku === 'string' && v.sku) skus.set(v.inventory_item_id, v.sku);
    }
  }
  return skus;
}

/** A SKU the event may carry: plain printable ASCII (it is the merchant's free text). */
export const eventSku = (sku: string | null) => (sku !== null && /^[\x20-\x7e]{1,100}$/.test(sku) ? sku : null);
