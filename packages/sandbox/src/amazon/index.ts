import { randomUUID } from 'node:crypto';
import type { LimitSettings } from '../limits.js';
import type { Reply } from '../providers.js';

/**
 * Amazon SP-API specifics of the sandbox: its three regional endpoints, its per-operation rate
 * limits and the FBA inventory pages.
 *
 * Regions: one endpoint per selling region (https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints).
 * The sandbox serves each under `/amazon-sp-api/<na|eu|fe>/…` (the unprefixed form is North
 * America), so a base URL template `…/amazon-sp-api/{{region}}` reaches the right one. A client
 * that connects to the sandbox with Amazon's own host names (a transport shim) is routed by its
 * `Host` header instead. Authorizations are regional: a token from a seller who consented in one
 * region is refused (403 Unauthorized) at another region's endpoint.
 */
export type Region = 'na' | 'eu' | 'fe';
const REGIONS = new Set(['na', 'eu', 'fe']);

/** Splits `/<region>/rest` into the region and the rest (no prefix: North America). */
export function amazonRegion(path: string): { region: Region; path: string } {
  const m = /^\/(na|eu|fe)(\/.*)$/.exec(path);
  return m ? { region: m[1] as Region, path: m[2]! } : { region: 'na', path };
}

/**
 * Amazon's own host names, for clients that hard-code them and reach the sandbox through a
 * connection-level shim: the SP-API endpoints (and their sandbox twins), the LWA token server
 * (api.amazon.com serves every region: https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api)
 * and Seller Central (its region from the marketplace's host). Returns the sandbox path, or null.
 */
export function amazonHostPath(host: string | undefined, path: string): string | null {
  const name = (host ?? '').toLowerCase().replace(/:\d+$/, '');
  const api = /^(?:sandbox\.)?sellingpartnerapi-(na|eu|fe)\.amazon\.com$/.exec(name);
  if (api) return `/amazon-sp-api/${api[1]}${path}`;
  if (name === 'api.amazon.com') return `/amazon-sp-api${path}`;
  const central = SELLER_CENTRAL_REGION[name];
  return central ? `/amazon-sp-api/${central}${path}` : null;
}

const SELLER_CENTRAL_REGION: Record<string, Region> = {
  'sellercentral.amazon.com': 'na', 'sellercentral.amazon.ca': 'na', 'sellercentral.amazon.com.mx': 'na', 'sellercentral.amazon.com.br': 'na',
  'sellercentral-europe.amazon.com': 'eu', 'sellercentral.amazon.nl': 'eu', 'sellercentral.amazon.se': 'eu', 'sellercentral.amazon.pl': 'eu',
  'sellercentral.amazon.com.tr': 'eu', 'sellercentral.amazon.ae': 'eu', 'sellercentral.amazon.in': 'eu',
  'sellercentral.amazon.sg': 'fe', 'sellercentral.amazon.com.au': 'fe', 'sellercentral.amazon.co.jp': 'fe',
};

export const isRegion = (v: string | undefined): v is Region => v !== undefined && REGIONS.has(v);

/**
 * Default usage plans of the operations the sandbox serves, as Amazon's models state them
 * (https://github.com/amzn/selling-partner-api-models: sellers.json, fbaInventory.json,
 * ordersV0.json; also https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits).
 * Each is a token bucket per selling partner and application (here: per access token).
 */
export const OPERATIONS: Array<{ name: string; method: string; path: RegExp; rate: number; burst: number }> = [
  { name: 'getMarketplaceParticipations', method: 'GET', path: /^\/sellers\/v1\/marketplaceParticipations$/, rate: 0.016, burst: 15 },
  { name: 'getInventorySummaries', method: 'GET', path: /^\/fba\/inventory\/v1\/summaries$/, rate: 2, burst: 2 },
  { name: 'getOrders', method: 'GET', path: /^\/orders\/v0\/orders$/, rate: 0.0167, burst: 20 },
  { name: 'getOrder', method: 'GET', path: /^\/orders\/v0\/orders\/[^/]+$/, rate: 0.5, burst: 30 },
  { name: 'getOrderItems', method: 'GET', path: /^\/orders\/v0\/orders\/[^/]+\/orderItems$/, rate: 0.5, burst: 30 },
];

/** The SP-API operation a request is (its own bucket), or null for paths that are not the API (LWA, consent). */
export function amazonOperation(method: string, path: string, configured?: LimitSettings): { name: string; settings: LimitSettings } | null {
  if (/^\/(auth|apps)\//.test(path)) return null;
  const op = OPERATIONS.find((o) => o.method === method && o.path.test(path));
  // An operation the sandbox does not model gets a bucket of its own at the slowest documented plan.
  const { name, rate, burst } = op ?? { name: `other ${method} ${path}`, rate: 0.0167, burst: 1 };
  return { name, settings: configured ?? { bucket: burst, leakPerSecond: rate } };
}

/** `x-amzn-RateLimit-Limit` as Amazon writes it (requests per second, e.g. `2.0`, `0.0167`). */
export const rateLimitHeader = (rate: number) => (Number.isInteger(rate) ? rate.toFixed(1) : String(rate));

/** Every SP-API answer carries a request id (the models declare `x-amzn-RequestId` on every response). */
export const requestIdHeader = () => ({ 'x-amzn-requestid': randomUUID() });

/**
 * Amazon's throttling answer: 429 with `QuotaExceeded` in its error list; the models declare only
 * `x-amzn-RequestId` on a 429 (no rate-limit header there).
 */
export const quotaExceeded = (): Reply => ({
  status: 429,
  body: { errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.', details: '' }] },
  headers: requestIdHeader(),
});

/** The marketplaces a sandbox seller participates in, per region. */
export function participations(region: Region) {
  const m = {
    na: [['ATVPDKIKX0DER', 'US', 'Amazon.com', 'USD', 'en_US', 'www.amazon.com']],
    eu: [['A1F83G8C2ARO7P', 'GB', 'Amazon.co.uk', 'GBP', 'en_GB', 'www.amazon.co.uk'], ['A1PA6795UKMFR9', 'DE', 'Amazon.de', 'EUR', 'de_DE', 'www.amazon.de']],
    fe: [['A1VC38T7YXB528', 'JP', 'Amazon.co.jp', 'JPY', 'ja_JP', 'www.amazon.co.jp']],
  }[region];
  return {
    payload: m.map(([id, countryCode, name, defaultCurrencyCode, defaultLanguageCode, domainName]) => ({
      marketplace: { id, countryCode, name, defaultCurrencyCode, defaultLanguageCode, domainName },
      participation: { isParticipating: true, hasSuspendedListings: false },
    })),
  };
}

const INVENTORY_SIZE = 120;
/** The sandbox's page size (Amazon's models do not state one; clients follow `nextToken` whatever it is). */
const PAGE_SIZE = 50;
/** "The string token will expire 30 seconds after being created" (fbaInventory.json, nextToken). */
const NEXT_TOKEN_TTL_MS = 30_000;
const INVENTORY_EPOCH = Date.UTC(2026, 9, 1);

type Summary = {
  asin: string; fnSku: string; sellerSku: string; condition: string; lastUpdatedTime: string; productName: string; totalQuantity: number;
  inventoryDetails: { fulfillableQuantity: number };
};
/** Each seller's FBA inventory (by the sandbox account that consented), deterministic until a test changes it. */
const inventories = new Map<string, Summary[]>();

function inventoryOf(account: string): Summary[] {
  let list = inventories.get(account);
  if (!list) {
    list = Array.from({ length: INVENTORY_SIZE }, (_, i) => ({
      asin: `B0SANDBOX${String(i).padStart(3, '0')}`, fnSku: `X0SANDBOX${String(i).padStart(3, '0')}`, sellerSku: `SKU-${i}`, condition: 'NewItem',
      lastUpdatedTime: new Date(INVENTORY_EPOCH + i * 60_000).toISOString().replace('.000Z', 'Z'), productName: `Sandbox product ${i}`,
      totalQuantity: 5 * (i % 7), inventoryDetails: { fulfillableQuantity: 4 * (i % 7) },
    }));
    inventories.set(account, list);
  }
  return list;
}

/** Tests change a seller's stock: `set(account, sellerSku, fulfillable, at)`, `add(…)`; `list(account)`. */
export const amazonInventory = {
  set(account: string, sellerSku: string, fulfillableQuantity: number, at: Date): boolean {
    const s = inventoryOf(account).find((x) => x.sellerSku === sellerSku);
    if (!s) return false;
    s.inventoryDetails = { fulfillableQuantity };
    s.totalQuantity = fulfillableQuantity + 1;
    s.lastUpdatedTime = at.toISOString().replace('.000Z', 'Z');
    return true;
  },
  /** A new SKU in the seller's inventory (its name is the seller's own text: spaces, any script). */
  add(account: string, sellerSku: string, fulfillableQuantity: number, at: Date) {
    const i = inventoryOf(account).length;
    inventoryOf(account).push({
      asin: `B0SANDBOX${String(i).padStart(3, '0')}`, fnSku: `X0SANDBOX${String(i).padStart(3, '0')}`, sellerSku, condition: 'NewItem',
      lastUpdatedTime: at.toISOString().replace('.000Z', 'Z'), productName: sellerSku, totalQuantity: fulfillableQuantity + 1, inventoryDetails: { fulfillableQuantity },
    });
  },
  list: (account: string) => inventoryOf(account).map((s) => structuredClone(s)),
};

/**
 * FBA inventory summaries in pages: `pagination.nextToken` while more remain (absent on the last
 * page). With `startDateTime`, only summaries changed after it ("returns inventory summaries that
 * have had changes after the date and time specified"; later pages need it again with the token).
 * `inventoryDetails` only with `details=true` (its default is false).
 * https://developer-docs.amazon.com/sp-api/docs/fba-inventory-api-v1-reference#getinventorysummaries
 * The error text for an expired or forged token is the sandbox's own (Amazon's is not
 * documented); its code, `InvalidInput`, is the models' code for bad parameters.
 */
export function inventorySummaries(url: URL, now: number, account = 'default'): Reply {
  const bad = (message: string): Reply => ({ status: 400, body: { errors: [{ code: 'InvalidInput', message, details: '' }] } });
  const marketplace = url.searchParams.get('marketplaceIds');
  if (!marketplace) return bad('marketplaceIds is required');
  if (url.searchParams.get('granularityType') !== 'Marketplace' || !url.searchParams.get('granularityId')) return bad('granularityType must be Marketplace and granularityId is required');
  const startRaw = url.searchParams.get('startDateTime');
  const start = startRaw === null ? null : Date.parse(startRaw);
  if (start !== null && Number.isNaN(start)) return bad('startDateTime is not an ISO 8601 date-time');
  let offset = 0;
  const next = url.searchParams.get('nextToken');
  if (next) {
    const t = decodeToken(next);
    if (!t || now - t.at > NEXT_TOKEN_TTL_MS || t.start !== startRaw) return bad('The nextToken is invalid or has expired');
    offset = t.offset;
  }
  const all = inventoryOf(account).filter((s) => start === null || Date.parse(s.lastUpdatedTime) > start);
  const details = url.searchParams.get('details') === 'true';
  const page = all.slice(offset, offset + PAGE_SIZE).map(({ inventoryDetails, ...s }) => ({ ...s, ...(details ? { inventoryDetails: { ...inventoryDetails } } : {}) }));
  const end = offset + page.length;
  return {
    status: 200,
    body: {
      payload: { granularity: { granularityType: 'Marketplace', granularityId: url.searchParams.get('granularityId') }, inventorySummaries: page },
      ...(end < all.length ? { pagination: { nextToken: Buffer.from(JSON.stringify({ offset: end, at: now, start: startRaw })).toString('base64url') } } : {}),
    },
  };
}

function decodeToken(token: string): { offset: number; at: number; start: string | null } | null {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown; at?: unknown; start?: unknown };
    return typeof v.offset === 'number' && typeof v.at === 'number' ? { offset: v.offset, at: v.at, start: typeof v.start === 'string' ? v.start : null } : null;
  } catch {
    return null;
  }
}
