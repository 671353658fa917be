import { z } from 'zod';
import { type SyncCall, type SyncDefinition, SyncReadError } from '../adapter.js';
import { API_VERSION, PAGE_SIZE, listQuery, nextPageInfo } from './syncs.js';

/**
 * A product as the REST Admin API returns it, with its variants; only the fields Keyhold relies on
 * are named. https://shopify.dev/docs/api/admin-rest/latest/resources/product
 */
const Product = z.looseObject({
  id: z.number().int(),
  title: z.string(),
  updated_at: z.string(),
  variants: z.array(z.looseObject({ id: z.number().int(), sku: z.string().nullable(), price: z.string(), inventory_item_id: z.number().int() })),
});

/**
 * An inventory level: what is available of one inventory item at one location.
 * https://shopify.dev/docs/api/admin-rest/latest/resources/inventorylevel
 */
const InventoryLevel = z.looseObject({
  inventory_item_id: z.number().int(),
  location_id: z.number().int(),
  available: z.number().int().nullable(),
  updated_at: z.string(),
});

async function listPage(call: SyncCall, resource: string, q: URLSearchParams) {
  const answer = await call(`/admin/api/${API_VERSION}/${resource}.json?${q}`);
  if (answer.status !== 200) throw new SyncReadError(`http_${answer.status}`, `Shopify answered ${answer.status} to a ${resource} page`);
  const list = (answer.body as Record<string, unknown> | null)?.[resource];
  if (!Array.isArray(list)) throw new SyncReadError('malformed_answer', `Shopify answered a ${resource} page without ${resource}`);
  return { list: list as Array<Record<string, unknown>>, next: nextPageInfo(answer.header('link')) };
}

/**
 * Products with their variants, full or changed since a checkpoint (`updated_at_min`), in cursor
 * pages like the orders reader (filters on the first request only). Deleted products are found
 * by a full run (the REST list does not report them).
 */
export const shopifyProducts: SyncDefinition = {
  model: 'shopify_products',
  schema: Product,
  incremental: true,
  defaultFrequencyMinutes: 360,
  async fetchPage({ page, checkpoint, call }) {
    const q = listQuery(page, checkpoint);
    const { list, next } = await listPage(call, 'products', q);
    return { records: list.map((p) => ({ id: String(p.id), data: p })), next };
  },
  checkpointOf: (product) => new Date(String(product.updated_at)).toISOString(),
};

/**
 * Shopify's inventory level list needs `inventory_item_ids` or `location_ids` (at most 50 ids):
 * the reader lists the store's locations, then pages through each group of up to 50 locations.
 * https://shopify.dev/docs/api/admin-rest/latest/resources/inventorylevel#get-inventory-levels,
 * https://shopify.dev/docs/api/admin-rest/latest/resources/location#get-locations
 */
const LOCATIONS_PER_CALL = 50;
/** Where a run is: the location groups still to read (the first is being read) and its page cursor. */
type LevelsPosition = { groups: string[]; pageInfo: string | null };

export const shopifyInventoryLevels: SyncDefinition = {
  model: 'shopify_inventory_levels',
  schema: InventoryLevel,
  incremental: true,
  defaultFrequencyMinutes: 60,
  async fetchPage({ page, checkpoint, call }) {
    let pos: LevelsPosition;
    if (page === null) {
      // Followed through Link pages too, so a store with many locations is read whole either way.
      const ids: string[] = [];
      let q = new URLSearchParams({ limit: String(PAGE_SIZE) });
      for (;;) {
        const { list, next } = await listPage(call, 'locations', q);
        ids.push(...list.map((l) => String(l.id)));
        if (next === null) break;
        q = new URLSearchParams({ limit: String(PAGE_SIZE), page_info: next });
      }
      const groups: string[] = [];
      for (let i = 0; i < ids.length; i += LOCATIONS_PER_CALL) groups.push(ids.slice(i, i + LOCATIONS_PER_CALL).join(','));
      if (groups.length === 0) return { records: [], next: null };
      pos = { groups, pageInfo: null };
    } else {
      pos = JSON.parse(page) as LevelsPosition;
    }
    const q = listQuery(pos.pageInfo, checkpoint, { location_ids: pos.groups[0]! });
    const { list, next } = await listPage(call, 'inventory_levels', q);
    const rest = next !== null ? { groups: pos.groups, pageInfo: next } : pos.groups.length > 1 ? { groups: pos.groups.slice(1), pageInfo: null } : null;
    return {
      records: list.map((l) => ({ id: `${l.inventory_item_id}:${l.location_id}`, data: l })),
      next: rest ? JSON.stringify(rest) : null,
    };
  },
  checkpointOf: (level) => new Date(String(level.updated_at)).toISOString(),
};
