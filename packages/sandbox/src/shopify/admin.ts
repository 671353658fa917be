import type { Reply } from '../providers.js';
import { header, json } from '../oauth/http.js';
import type { RouteContext } from '../oauth/routes.js';
import type { OAuthState } from '../oauth/state.js';
import { createGraphql } from './graphql.js';
import { type StoreData, rest, storeData } from './store-data.js';
import { nonExpiringRefused, refusesNonExpiring } from './tokens.js';

const UNAUTHORIZED = () => json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
const REST = /^\/admin\/api\/(\d{4}-\d{2})\/(shop|orders|products|inventory_levels|locations)\.json$/;
const GRAPHQL = /^\/admin\/api\/\d{4}-\d{2}\/graphql\.json$/;

/** REST cursor pagination: `limit` (default 50, max 250) and `page_info` from the `Link` header. */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 250;
/** The only parameters a request with `page_info` may carry; the filters travel inside page_info. */
const WITH_PAGE_INFO = new Set(['page_info', 'limit', 'fields']);

/**
 * The Admin API of each store (REST and GraphQL), for tokens this sandbox issued through OAuth and
 * for seeded custom-app tokens. Null when the path is not one of its routes.
 */
export function createShopifyAdmin(state: OAuthState) {
  const graphql = createGraphql();

  /** Null when the token may call the store's Admin API; else Shopify's refusal. */
  function refusal(ctx: RouteContext, seeded: (token: string) => boolean): Reply | null {
    const token = header(ctx.req, 'x-shopify-access-token');
    if (state.isKnownAccessToken(token)) {
      const r = state.checkAccess('shopify', token, ctx.now);
      if (!('access' in r) || r.access.grant.store !== ctx.store) {
        state.countRejected('shopify', 'access' in r ? 'unknown' : r.reason);
        return UNAUTHORIZED();
      }
      if (!r.access.grant.expiring && refusesNonExpiring(state.app('shopify', r.access.grant.clientId), ctx.now)) return nonExpiringRefused();
      return null;
    }
    // A custom app's token (seeded by the test): never subject to the expiring-token rule.
    if (token && seeded(token)) return null;
    state.countRejected('shopify', 'unknown');
    return UNAUTHORIZED();
  }

  function handle(ctx: RouteContext, seeded: (token: string) => boolean): Reply | null {
    const isGraphql = ctx.req.method === 'POST' && GRAPHQL.test(ctx.path);
    const restRoute = ctx.req.method === 'GET' ? REST.exec(ctx.path) : null;
    if (!isGraphql && !restRoute) return null;
    const refused = refusal(ctx, seeded);
    if (refused) return refused;
    const data = storeData(ctx.store!);
    if (isGraphql) return graphql.run(ctx.store!, data, ctx.body, ctx.now);
    return restResource(data, ctx.store!, restRoute![1]!, restRoute![2]!, ctx.url);
  }

  return { handle, api: graphql.api };
}

/**
 * One page of a REST resource with Shopify's `Link` header: absolute URLs at the store's own
 * domain, `rel="next"`/`rel="previous"`, page_info first.
 * https://shopify.dev/docs/api/admin-rest/usage/pagination
 */
function restResource(data: StoreData, store: string, version: string, resource: string, url: URL): Reply {
  if (resource === 'shop') return json(200, { shop: { id: 1, name: data.shop.name, myshopify_domain: store, email: data.shop.email, currency: 'USD', iana_timezone: 'UTC' } });
  const q = url.searchParams;
  const pageInfo = q.get('page_info');
  let filters: Record<string, string>;
  let cursor: { last: number; direction: 'next' | 'prev' } | null = null;
  if (pageInfo !== null) {
    for (const k of q.keys()) if (!WITH_PAGE_INFO.has(k)) return json(400, { errors: { [k]: `${k} cannot be passed when page_info is present.` } });
    const decoded = decodePageInfo(pageInfo, resource);
    if (!decoded) return json(400, { errors: { page_info: 'Invalid value.' } });
    filters = decoded.filters;
    cursor = { last: decoded.last, direction: decoded.direction };
  } else {
    filters = Object.fromEntries([...q].filter(([k]) => k !== 'limit' && k !== 'fields'));
  }
  const limitRaw = q.get('limit');
  const limit = limitRaw === null ? DEFAULT_LIMIT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1) return json(400, { errors: { limit: 'Invalid value.' } });
  const size = Math.min(limit, MAX_LIMIT);
  // The list needs one of the two filters: https://shopify.dev/docs/api/admin-rest/latest/resources/inventorylevel#get-inventory-levels
  if (resource === 'inventory_levels' && !filters.inventory_item_ids && !filters.location_ids) {
    return json(422, { errors: { base: ['Must specify inventory_item_ids or location_ids'] } });
  }
  // "(maximum: 50)" for each list; the refusal's text is the sandbox's own (Shopify's is not documented).
  for (const k of ['inventory_item_ids', 'location_ids']) {
    if (resource === 'inventory_levels' && (filters[k]?.split(',').length ?? 0) > 50) return json(422, { errors: { [k]: ['must have at most 50 ids'] } });
  }
  // Orders are filtered in their stored shape and only the page is converted (a store of 100,000
  // orders is read page by page without converting every order for every page).
  const { all, idOf, shape } = resource === 'orders'
    ? { all: orderRows(data, filters), idOf: (o: Record<string, any>) => Number(o.legacyResourceId), shape: rest.order }
    : { all: records(data, resource, filters), idOf: (r: Record<string, unknown>) => r.id as number, shape: (r: Record<string, unknown>) => r };
  const at = cursor ? all.findIndex((r) => idOf(r) === cursor!.last) : -1;
  let rows: typeof all;
  if (!cursor) rows = all.slice(0, size);
  else if (cursor.direction === 'next') rows = all.slice(at + 1, at + 1 + size);
  else rows = all.slice(Math.max(0, at - size), at);
  const from = rows.length ? all.indexOf(rows[0]!) : 0;
  const page = rows.map(shape);
  const links: string[] = [];
  const link = (last: number, direction: 'next' | 'prev', rel: string) => {
    const params = new URLSearchParams({ page_info: encodePageInfo({ last, direction, filters, resource }), limit: String(size) });
    if (q.get('fields')) params.set('fields', q.get('fields')!);
    links.push(`<https://${store}/admin/api/${version}/${resource}.json?${params}>; rel="${rel}"`);
  };
  if (page.length && from > 0) link(page[0]!.id as number, 'prev', 'previous');
  if (page.length && from + page.length < all.length) link(page.at(-1)!.id as number, 'next', 'next');
  const fields = q.get('fields')?.split(',').map((f) => f.trim()).filter(Boolean);
  const shown = fields?.length ? page.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => fields.includes(k)))) : page;
  const key = resource;
  return { status: 200, body: { [key]: shown }, headers: links.length ? { link: links.join(', ') } : {} };
}

/** The store's orders (stored shape) matching the REST list's filters: since_id, updated_at_min, ids. */
function orderRows(data: StoreData, f: Record<string, string>): Array<Record<string, any>> {
  const ids = f.ids?.split(',').map((s) => Number(s.trim()));
  const min = f.updated_at_min ? new Date(f.updated_at_min).toISOString().replace('.000Z', 'Z') : null;
  return data.orders.filter((o) => {
    const id = Number(o.legacyResourceId);
    return (!f.since_id || id > Number(f.since_id)) && (!min || String(o.updatedAt) >= min) && (!ids || ids.includes(id));
  });
}

function records(data: StoreData, resource: string, f: Record<string, string>): Array<Record<string, unknown>> {
  const ids = (k: string) => f[k]?.split(',').map((s) => Number(s.trim()));
  const since = (r: Record<string, unknown>) => !f.since_id || (r.id as number) > Number(f.since_id);
  const updatedMin = (r: Record<string, unknown>) => !f.updated_at_min || String(r.updated_at) >= new Date(f.updated_at_min).toISOString().replace('.000Z', 'Z');
  switch (resource) {
    case 'products': return data.products.map(rest.product).filter((r) => since(r) && updatedMin(r) && (!ids('ids') || ids('ids')!.includes(r.id)));
    case 'locations': return data.locations.map(rest.location);
    default: {
      const items = ids('inventory_item_ids');
      const locs = ids('location_ids');
      // Levels have no id of their own; the cursor orders them by item then location.
      return data.inventoryLevels.map(rest.inventoryLevel)
        .filter((l) => (!items || items.includes(l.inventory_item_id)) && (!locs || locs.includes(l.location_id)) && updatedMin(l))
        .map((l) => ({ ...l, id: l.inventory_item_id * 10_000 + l.location_id }))
        .map(({ id, ...l }) => Object.defineProperty(l, 'id', { value: id, enumerable: false }) as Record<string, unknown>);
    }
  }
}

type PageInfo = { last: number; direction: 'next' | 'prev'; filters: Record<string, string>; resource: string };
const encodePageInfo = (p: PageInfo) => Buffer.from(JSON.stringify(p)).toString('base64url');
function decodePageInfo(s: string, resource: string): PageInfo | null {
  try {
    const p = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as PageInfo;
    return p.resource === resource && typeof p.last === 'number' && (p.direction === 'next' || p.direction === 'prev') ? p : null;
  } catch {
    return null;
  }
}
