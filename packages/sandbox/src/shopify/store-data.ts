import { createHash } from 'node:crypto';

/**
 * One store's orders, products, variants, inventory items, locations and inventory levels, the same
 * for the REST and GraphQL Admin APIs. Derived from the store domain only (deterministic), built
 * once per store. Objects link to each other as the GraphQL schema does; REST views flatten them.
 */
export type StoreData = {
  shop: Record<string, unknown>;
  orders: Array<Record<string, any>>;
  products: Array<Record<string, any>>;
  inventoryItems: Array<Record<string, any>>;
  locations: Array<Record<string, any>>;
  inventoryLevels: Array<Record<string, any>>;
};

export const ORDER_COUNT = 120;
export const PRODUCT_COUNT = 30;
const gid = (type: string, id: number) => `gid://shopify/${type}/${id}`;
const day = (n: number) => new Date(Date.UTC(2026, 9, 1) + n * 3_600_000).toISOString().replace('.000Z', 'Z');
const money = (amount: string) => ({ shopMoney: { amount, currencyCode: 'USD' }, presentmentMoney: { amount, currencyCode: 'USD' } });

const cache = new Map<string, StoreData>();

export function storeData(store: string): StoreData {
  const hit = cache.get(store);
  if (hit) return hit;
  const seed = createHash('sha256').update(store).digest();
  const n = (i: number) => seed[i % seed.length]!;
  const locations = [1, 2].map((i) => ({ id: gid('Location', 6000 + i), legacyResourceId: String(6000 + i), name: i === 1 ? 'Main warehouse' : 'Shop floor', isActive: true }));
  const products: Array<Record<string, any>> = [];
  const inventoryItems: Array<Record<string, any>> = [];
  const inventoryLevels: Array<Record<string, any>> = [];
  const catalog = { products, inventoryItems, inventoryLevels, locations };
  for (let p = 0; p < PRODUCT_COUNT; p++) addProduct(catalog, p, n);
  for (const loc of locations) (loc as Record<string, unknown>).inventoryLevels = inventoryLevels.filter((l) => l.location === loc);
  const orders = Array.from({ length: ORDER_COUNT }, (_, i) => makeOrder(i, products, n));
  const data: StoreData = {
    shop: { id: gid('Shop', 1), name: 'Sandbox store', myshopifyDomain: store, currencyCode: 'USD', ianaTimezone: 'UTC', email: `owner@${store}` },
    orders, products, inventoryItems, locations, inventoryLevels,
  };
  cache.set(store, data);
  return data;
}

type Catalog = Pick<StoreData, 'products' | 'inventoryItems' | 'inventoryLevels' | 'locations'>;

/** Product `p` with two variants, each an inventory item stocked at every location (some of them low). */
function addProduct(c: Catalog, p: number, n: (i: number) => number) {
  const product: Record<string, any> = {
    id: gid('Product', 7000 + p), legacyResourceId: String(7000 + p), title: `Product ${p}`, handle: `product-${p}`, status: 'ACTIVE',
    vendor: 'Sandbox', productType: 'Widget', createdAt: day(p), updatedAt: day(p + 24), variants: [],
  };
  for (let v = 0; v < 2; v++) {
    const k = p * 2 + v;
    const item: Record<string, any> = { id: gid('InventoryItem', 8000 + k), legacyResourceId: String(8000 + k), sku: `SKU-${p}-${v}`, tracked: true, updatedAt: day(k), inventoryLevels: [] };
    const variant: Record<string, any> = {
      id: gid('ProductVariant', 9000 + k), legacyResourceId: String(9000 + k), title: v === 0 ? 'Small' : 'Large', sku: item.sku,
      price: (9.5 + p + v).toFixed(2), inventoryQuantity: 0, inventoryItem: item, product,
    };
    item.variant = variant;
    for (const loc of c.locations) {
      const available = (n(k + Number(loc.legacyResourceId)) % 50) + (loc.legacyResourceId === '6001' ? 10 : 0);
      const level = {
        id: `gid://shopify/InventoryLevel/${8000 + k}?inventory_item_id=${8000 + k}`, updatedAt: day(k), location: loc, item,
        quantities: { available, on_hand: available + 2, committed: 2, incoming: 0, reserved: 0 },
      };
      item.inventoryLevels.push(level);
      c.inventoryLevels.push(level);
      variant.inventoryQuantity += available;
    }
    product.variants.push(variant);
    c.inventoryItems.push(item);
  }
  product.totalInventory = product.variants.reduce((s: number, v: Record<string, any>) => s + v.inventoryQuantity, 0);
  c.products.push(product);
}

function makeOrder(i: number, products: Array<Record<string, any>>, n: (i: number) => number): Record<string, any> {
  const variant = products[i % PRODUCT_COUNT]!.variants[i % 2];
  const quantity = 1 + (n(i) % 3);
  const total = (Number(variant.price) * quantity).toFixed(2);
  // Every 13th order (from the 5th) was cancelled an hour after it was placed: an unpaid one is
  // voided, a paid one refunded, as Shopify's cancel does.
  const cancelled = i % 13 === 4;
  const paid = i % 7 !== 0;
  const financial = cancelled ? (paid ? 'REFUNDED' : 'VOIDED') : paid ? 'PAID' : 'PENDING';
  return {
    id: gid('Order', 5000 + i), legacyResourceId: String(5000 + i), name: `#${1001 + i}`, createdAt: day(i), updatedAt: day(i + 1), processedAt: day(i),
    cancelledAt: cancelled ? day(i + 1) : null, cancelReason: cancelled ? 'CUSTOMER' : null,
    currencyCode: 'USD', displayFinancialStatus: financial, displayFulfillmentStatus: i % 3 === 0 && !cancelled ? 'FULFILLED' : 'UNFULFILLED',
    totalPriceSet: money(total), subtotalPriceSet: money(total),
    lineItems: [{ id: gid('LineItem', 10_000 + i), name: `${variant.product.title} - ${variant.title}`, title: variant.product.title, quantity, sku: variant.sku, variant }],
  };
}

/**
 * Changes to a store's orders, as a merchant's day would make them (tests of syncs): more orders,
 * an order updated (paid, fulfilled; `updated_at` moves to `at`), an order deleted.
 */
export const storeOrders = {
  /** Grows the store to `count` orders (the existing ones unchanged). */
  grow(store: string, count: number) {
    const data = storeData(store);
    const seed = createHash('sha256').update(store).digest();
    const n = (i: number) => seed[i % seed.length]!;
    const next = data.orders.length ? Number(data.orders.at(-1)!.legacyResourceId) - 5000 + 1 : 0;
    for (let i = next; data.orders.length < count; i++) data.orders.push(makeOrder(i, data.products, n));
  },
  /** Marks the order paid and fulfilled at `at`; false when the store has no such order. */
  update(store: string, id: number, at: Date): boolean {
    const order = storeData(store).orders.find((o) => Number(o.legacyResourceId) === id);
    if (!order) return false;
    Object.assign(order, { updatedAt: at.toISOString().replace('.000Z', 'Z'), displayFinancialStatus: 'PAID', displayFulfillmentStatus: 'FULFILLED' });
    return true;
  },
  /** Deletes the order (Shopify's REST list then simply stops returning it). */
  remove(store: string, id: number): boolean {
    const orders = storeData(store).orders;
    const at = orders.findIndex((o) => Number(o.legacyResourceId) === id);
    if (at < 0) return false;
    orders.splice(at, 1);
    return true;
  },
  ids: (store: string) => storeData(store).orders.map((o) => Number(o.legacyResourceId)),
  /** The store's orders as the REST Admin API shows them (tests compute expected figures from these). */
  list: (store: string) => storeData(store).orders.map(rest.order),
};

/**
 * Changes to a store's catalog and stock (tests of syncs): more products (each with two variants
 * stocked at both locations), and an inventory level's `available` set at `at`.
 */
export const storeCatalog = {
  /** Grows the store to `count` products (the existing ones unchanged). */
  grow(store: string, count: number) {
    const data = storeData(store);
    const seed = createHash('sha256').update(store).digest();
    const n = (i: number) => seed[i % seed.length]!;
    for (let p = data.products.length; p < count; p++) addProduct(data, p, n);
    for (const loc of data.locations) loc.inventoryLevels = data.inventoryLevels.filter((l) => l.location === loc);
  },
  /** Adds locations until the store has `count`; every item is stocked at each new one (available = (item + location) % 40). */
  addLocations(store: string, count: number) {
    const data = storeData(store);
    for (let i = data.locations.length + 1; i <= count; i++) {
      const loc: Record<string, any> = { id: gid('Location', 6000 + i), legacyResourceId: String(6000 + i), name: `Location ${i}`, isActive: true };
      data.locations.push(loc);
      for (const item of data.inventoryItems) {
        const available = (Number(item.legacyResourceId) + i) % 40;
        const level = {
          id: `gid://shopify/InventoryLevel/${item.legacyResourceId}?inventory_item_id=${item.legacyResourceId}`, updatedAt: item.updatedAt, location: loc, item,
          quantities: { available, on_hand: available + 2, committed: 2, incoming: 0, reserved: 0 },
        };
        item.inventoryLevels.push(level);
        data.inventoryLevels.push(level);
        item.variant.inventoryQuantity += available;
      }
      loc.inventoryLevels = data.inventoryLevels.filter((l) => l.location === loc);
    }
  },
  /** Sets what is available of an item at a location (its `updated_at` moves to `at`); false when there is no such level. */
  setAvailable(store: string, inventoryItemId: number, locationId: number, available: number, at: Date): boolean {
    const level = storeData(store).inventoryLevels.find((l) => Number(l.item.legacyResourceId) === inventoryItemId && Number(l.location.legacyResourceId) === locationId);
    if (!level) return false;
    const before = level.quantities.available as number;
    level.quantities = { ...level.quantities, available, on_hand: available + 2 };
    level.updatedAt = at.toISOString().replace('.000Z', 'Z');
    level.item.variant.inventoryQuantity += available - before;
    return true;
  },
  /** Renames a product at `at` (its `updated_at` moves); false when the store has no such product. */
  updateProduct(store: string, id: number, title: string, at: Date): boolean {
    const product = storeData(store).products.find((p) => Number(p.legacyResourceId) === id);
    if (!product) return false;
    Object.assign(product, { title, updatedAt: at.toISOString().replace('.000Z', 'Z') });
    return true;
  },
  products: (store: string) => storeData(store).products.map(rest.product),
  inventoryLevels: (store: string) => storeData(store).inventoryLevels.map(rest.inventoryLevel),
  locations: (store: string) => storeData(store).locations.map(rest.location),
};

/** REST Admin API shapes (snake_case, numeric ids) of the same records. */
export const rest = {
  order: (o: Record<string, any>) => ({
    id: Number(o.legacyResourceId), admin_graphql_api_id: o.id, name: o.name, created_at: o.createdAt, updated_at: o.updatedAt, processed_at: o.processedAt,
    currency: o.currencyCode, total_price: o.totalPriceSet.shopMoney.amount, subtotal_price: o.subtotalPriceSet.shopMoney.amount,
    cancelled_at: o.cancelledAt ?? null, cancel_reason: o.cancelReason ? String(o.cancelReason).toLowerCase() : null,
    financial_status: String(o.displayFinancialStatus).toLowerCase(), fulfillment_status: o.displayFulfillmentStatus === 'FULFILLED' ? 'fulfilled' : null,
    line_items: o.lineItems.map((l: Record<string, any>) => ({ id: Number(l.id.split('/').pop()), title: l.title, name: l.name, quantity: l.quantity, sku: l.sku, variant_id: Number(l.variant.legacyResourceId), product_id: Number(l.variant.product.legacyResourceId) })),
  }),
  product: (p: Record<string, any>) => ({
    id: Number(p.legacyResourceId), admin_graphql_api_id: p.id, title: p.title, handle: p.handle, status: String(p.status).toLowerCase(), vendor: p.vendor,
    product_type: p.productType, created_at: p.createdAt, updated_at: p.updatedAt,
    variants: p.variants.map((v: Record<string, any>) => ({ id: Number(v.legacyResourceId), product_id: Number(p.legacyResourceId), title: v.title, sku: v.sku, price: v.price, inventory_item_id: Number(v.inventoryItem.legacyResourceId), inventory_quantity: v.inventoryQuantity })),
  }),
  inventoryLevel: (l: Record<string, any>) => ({
    inventory_item_id: Number(l.item.legacyResourceId), location_id: Number(l.location.legacyResourceId), available: l.quantities.available, updated_at: l.updatedAt,
    admin_graphql_api_id: l.id,
  }),
  location: (l: Record<string, any>) => ({ id: Number(l.legacyResourceId), name: l.name, active: l.isActive, admin_graphql_api_id: l.id }),
};
