import { z } from 'zod';

/** The commerce module's API (`/api/commerce/*`): sales per Shopify store and low stock across inventories. */
export const LOW_STOCK_MODELS = ['shopify_inventory_levels', 'amazon_fba_inventory', 'unleashed_stock_on_hand'] as const;

/**
 * A stock item's id in its provider (a Shopify `item:location`, an Amazon seller SKU, an Unleashed
 * product guid): the seller's own words may be in it (spaces, any script), control characters not.
 */
export const StockItemIdSchema = z.string().regex(/^[^\p{Cc}]{1,300}$/u);

export const CommerceSettingsSchema = z.strictObject({
  lowStockThreshold: z.number().int().min(0).max(1_000_000).describe('An item is low when its available quantity is under this'),
});
export type CommerceSettings = z.infer<typeof CommerceSettingsSchema>;

const Money = z.object({ currency: z.string(), amount: z.string().describe('Decimal string, e.g. "1234.50"') });
const SalesWindow = z.object({
  orders: z.number().int().describe('Orders created in the window, cancelled and voided ones excluded'),
  sales: z.array(Money).describe("Sum of those orders' total_price, per currency"),
});

export const CommerceSummarySchema = z.object({
  asOf: z.string(),
  lowStockThreshold: z.number().int(),
  stores: z.array(z.object({
    connectionId: z.string().uuid(),
    label: z.string(),
    shop: z.string().nullable(),
    last7Days: SalesWindow,
    last30Days: SalesWindow,
  })),
  lowStock: z.object({
    count: z.number().int(),
    items: z.array(z.object({
      connectionId: z.string().uuid(),
      provider: z.string(),
      label: z.string(),
      model: z.enum(LOW_STOCK_MODELS),
      externalId: z.string(),
      sku: z.string().nullable(),
      quantity: z.number().int(),
    })).describe('The lowest first, at most 500'),
  }),
});
export type CommerceSummary = z.infer<typeof CommerceSummarySchema>;
