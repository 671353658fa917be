import type { Reply } from '../providers.js';
import { json } from '../oauth/http.js';
import { type Field, GraphqlSyntaxError, type Operation, type Value, parse } from './graphql-parse.js';
import type { StoreData } from './store-data.js';

/**
 * The GraphQL Admin API (`POST /admin/api/<version>/graphql.json`): enough of QueryRoot for
 * orders, products, variants, inventory items/levels and locations, with Relay connections
 * (`edges`/`nodes`/`pageInfo`, `first`/`last`/`after`/`before`, max 250) and Shopify's calculated
 * query cost: a leaky bucket of points per store, the cost in `extensions.cost`, `THROTTLED` when
 * the bucket cannot pay the requested cost, `MAX_COST_EXCEEDED` above 1,000 per query.
 * https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits
 * https://shopify.dev/docs/api/usage/pagination-graphql
 */
type FieldDef = { type: string; kind: 'scalar' | 'object' | 'connection' | 'list'; args?: string[]; resolve?: (parent: any, args: Record<string, unknown>) => unknown };
const S = (resolve?: FieldDef['resolve']): FieldDef => ({ type: 'Scalar', kind: 'scalar', ...(resolve ? { resolve } : {}) });
const O = (type: string, resolve?: FieldDef['resolve']): FieldDef => ({ type, kind: 'object', ...(resolve ? { resolve } : {}) });
const CONN_ARGS = ['first', 'last', 'after', 'before', 'reverse', 'query', 'sortKey'];
const C = (type: string, resolve?: FieldDef['resolve']): FieldDef => ({ type, kind: 'connection', args: CONN_ARGS, ...(resolve ? { resolve } : {}) });
const byId = (list: Array<Record<string, unknown>>) => (_: unknown, a: Record<string, unknown>) => list.find((x) => x.id === a.id) ?? null;

const MONEY = { amount: S(), currencyCode: S() };
function schema(d: StoreData): Record<string, Record<string, FieldDef>> {
  return {
    QueryRoot: {
      shop: O('Shop', () => d.shop),
      orders: C('Order', () => d.orders), order: { ...O('Order', byId(d.orders)), args: ['id'] },
      products: C('Product', () => d.products), product: { ...O('Product', byId(d.products)), args: ['id'] },
      inventoryItems: C('InventoryItem', () => d.inventoryItems), inventoryItem: { ...O('InventoryItem', byId(d.inventoryItems)), args: ['id'] },
      locations: C('Location', () => d.locations), location: { ...O('Location', byId(d.locations)), args: ['id'] },
    },
    Shop: { id: S(), name: S(), myshopifyDomain: S(), currencyCode: S(), ianaTimezone: S(), email: S() },
    Order: {
      id: S(), legacyResourceId: S(), name: S(), createdAt: S(), updatedAt: S(), processedAt: S(), currencyCode: S(),
      cancelledAt: S(), cancelReason: S(), displayFinancialStatus: S(), displayFulfillmentStatus: S(), totalPriceSet: O('MoneyBag'), subtotalPriceSet: O('MoneyBag'), lineItems: C('LineItem'),
    },
    MoneyBag: { shopMoney: O('MoneyV2'), presentmentMoney: O('MoneyV2') },
    MoneyV2: MONEY,
    LineItem: { id: S(), name: S(), title: S(), quantity: S(), sku: S(), variant: O('ProductVariant') },
    Product: {
      id: S(), legacyResourceId: S(), title: S(), handle: S(), status: S(), vendor: S(), productType: S(), createdAt: S(), updatedAt: S(),
      totalInventory: S(), variants: C('ProductVariant'),
    },
    ProductVariant: { id: S(), legacyResourceId: S(), title: S(), sku: S(), price: S(), inventoryQuantity: S(), inventoryItem: O('InventoryItem'), product: O('Product') },
    InventoryItem: { id: S(), legacyResourceId: S(), sku: S(), tracked: S(), updatedAt: S(), variant: O('ProductVariant'), inventoryLevels: C('InventoryLevel') },
    InventoryLevel: {
      id: S(), updatedAt: S(), location: O('Location'), item: O('InventoryItem'),
      quantities: { type: 'InventoryQuantity', kind: 'list', args: ['names'], resolve: (l, a) => ((a.names as string[] | undefined) ?? []).map((name) => ({ name, quantity: l.quantities[name] ?? 0, updatedAt: l.updatedAt })) },
    },
    InventoryQuantity: { name: S(), quantity: S(), updatedAt: S() },
    Location: { id: S(), legacyResourceId: S(), name: S(), isActive: S(), inventoryLevels: C('InventoryLevel') },
    PageInfo: { hasNextPage: S(), hasPreviousPage: S(), startCursor: S(), endCursor: S() },
  };
}

type GqlError = { message: string; locations?: Array<{ line: number; column: number }>; path?: Array<string | number>; extensions?: Record<string, unknown> };
class QueryError extends Error {
  constructor(readonly error: GqlError) {
    super(error.message);
  }
}
const loc = (f: Field) => [{ line: f.line, column: f.column }];

/** Checks a selection against the schema; returns its requested cost (connections at their `first`/`last`). */
function requestedCost(types: ReturnType<typeof schema>, typeName: string, fields: Field[], vars: Record<string, unknown>, path: string[]): number {
  let cost = 0;
  for (const f of fields) {
    if (f.name === '__typename') continue;
    const def = types[typeName]?.[f.name];
    if (!def) throw new QueryError({ message: `Field '${f.name}' doesn't exist on type '${typeName}'`, locations: loc(f), path: [...path, f.name], extensions: { code: 'undefinedField', typeName, fieldName: f.name } });
    for (const a of Object.keys(f.args)) {
      if (!(def.args ?? []).includes(a)) throw new QueryError({ message: `Field '${f.name}' doesn't accept argument '${a}'`, locations: loc(f), path: [...path, f.name, a], extensions: { code: 'argumentNotAccepted', name: f.name, typeName: 'Field', argumentName: a } });
    }
    if (def.kind === 'scalar') {
      if (f.selections) throw new QueryError({ message: `Selections can't be made on scalars (field '${f.name}' returns a scalar but has selections [${f.selections.map((s) => s.name).join(', ')}])`, locations: loc(f), path: [...path, f.name], extensions: { code: 'selectionMismatch', nodeName: `field '${f.name}'`, typeName: 'Scalar' } });
      continue;
    }
    if (!f.selections) throw new QueryError({ message: `Field must have selections (field '${f.name}' returns ${def.type} but has no selections. Did you mean '${f.name} { ... }'?)`, locations: loc(f), path: [...path, f.name], extensions: { code: 'selectionMismatch', nodeName: `field '${f.name}'`, typeName: def.type } });
    if (def.kind !== 'connection') {
      cost += (def.kind === 'object' ? 1 : 0) + requestedCost(types, def.type, f.selections, vars, [...path, f.name]);
      continue;
    }
    const size = pageSize(f, vars, path);
    cost += 2 + size * connectionNodeCost(types, def.type, f, vars, [...path, f.name]);
  }
  return cost;
}

function connectionNodeCost(types: ReturnType<typeof schema>, nodeType: string, f: Field, vars: Record<string, unknown>, path: string[]): number {
  let cost = 0;
  let nodeSelected = false;
  for (const c of f.selections ?? []) {
    if (c.name === 'nodes') { nodeSelected = true; cost = Math.max(cost, 1 + requestedCost(types, nodeType, c.selections ?? [], vars, [...path, 'nodes'])); }
    else if (c.name === 'edges') {
      for (const e of c.selections ?? []) {
        if (e.name === 'node') { nodeSelected = true; cost = Math.max(cost, 1 + requestedCost(types, nodeType, e.selections ?? [], vars, [...path, 'edges', 'node'])); }
        else if (e.name !== 'cursor' && e.name !== '__typename') throw new QueryError({ message: `Field '${e.name}' doesn't exist on type '${nodeType}Edge'`, locations: loc(e), path: [...path, 'edges', e.name], extensions: { code: 'undefinedField', typeName: `${nodeType}Edge`, fieldName: e.name } });
      }
    } else if (c.name === 'pageInfo') requestedCost(types, 'PageInfo', c.selections ?? [], vars, [...path, 'pageInfo']);
    else if (c.name !== '__typename') throw new QueryError({ message: `Field '${c.name}' doesn't exist on type '${nodeType}Connection'`, locations: loc(c), path: [...path, c.name], extensions: { code: 'undefinedField', typeName: `${nodeType}Connection`, fieldName: c.name } });
  }
  return nodeSelected ? cost : 0;
}

function pageSize(f: Field, vars: Record<string, unknown>, path: string[]): number {
  const first = valueOf(f.args.first, vars);
  const last = valueOf(f.args.last, vars);
  if (first == null && last == null) throw new QueryError({ message: 'you must provide one of first or last', locations: loc(f), path: [...path, f.name] });
  const n = Number(first ?? last);
  if (!Number.isInteger(n) || n < 0 || n > 250) throw new QueryError({ message: `The ${first != null ? 'first' : 'last'} argument must be between 0 and 250`, locations: loc(f), path: [...path, f.name] });
  return n;
}

function valueOf(v: Value | undefined, vars: Record<string, unknown>): unknown {
  if (!v) return undefined;
  switch (v.kind) {
    case 'var': return vars[v.name];
    case 'lit': return v.value;
    case 'list': return v.items.map((i) => valueOf(i, vars));
    case 'obj': return Object.fromEntries(Object.entries(v.fields).map(([k, x]) => [k, valueOf(x, vars)]));
  }
}

const cursorOf = (node: Record<string, unknown>) => Buffer.from(JSON.stringify({ last_id: Number(node.legacyResourceId ?? String(node.id).replace(/\D+/g, '')) })).toString('base64');

/** `query` search syntax, the parts the sandbox models: `updated_at:>…`, `created_at:<=…`, `sku:…`. */
function matches(node: Record<string, any>, query: string | undefined): boolean {
  if (!query) return true;
  for (const m of query.matchAll(/(\w+):(>=|<=|>|<)?'?([^'\s]+)'?/g)) {
    const [, field, op = '=', raw] = m;
    const key = field === 'updated_at' ? 'updatedAt' : field === 'created_at' ? 'createdAt' : field;
    const have = node[key!];
    if (have === undefined) continue; // Shopify ignores terms it cannot apply (and warns in extensions.search)
    const cmp = String(have).localeCompare(raw!);
    if (!(op === '>' ? cmp > 0 : op === '>=' ? cmp >= 0 : op === '<' ? cmp < 0 : op === '<=' ? cmp <= 0 : String(have) === raw)) return false;
  }
  return true;
}

function connection(all: Array<Record<string, any>>, args: Record<string, unknown>) {
  let list = all.filter((n) => matches(n, args.query as string | undefined));
  if (args.sortKey === 'UPDATED_AT') list = [...list].sort((a, b) => String(a.updatedAt).localeCompare(String(b.updatedAt)));
  if (args.reverse) list = [...list].reverse();
  const index = (c: unknown) => list.findIndex((n) => cursorOf(n) === c);
  let start = 0;
  let end = list.length;
  if (typeof args.after === 'string') start = index(args.after) + 1;
  if (typeof args.before === 'string') end = Math.max(start, index(args.before));
  let page: typeof list;
  if (args.first != null) page = list.slice(start, Math.min(end, start + Number(args.first)));
  else page = list.slice(Math.max(start, end - Number(args.last)), end);
  const from = list.indexOf(page[0]!);
  return {
    edges: page.map((node) => ({ cursor: cursorOf(node), node })), nodes: page,
    pageInfo: {
      hasNextPage: page.length > 0 && from + page.length < list.length, hasPreviousPage: page.length > 0 && from > 0,
      startCursor: page[0] ? cursorOf(page[0]) : null, endCursor: page.at(-1) ? cursorOf(page.at(-1)!) : null,
    },
  };
}

/** Resolves a selection; `cost.n` accumulates the actual cost (objects returned, connections at their size). */
function execute(types: ReturnType<typeof schema>, typeName: string, parent: any, fields: Field[], vars: Record<string, unknown>, cost: { n: number }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const key = f.alias || f.name;
    if (f.name === '__typename') { out[key] = typeName; continue; }
    const def = types[typeName]![f.name]!;
    const args = Object.fromEntries(Object.entries(f.args).map(([k, v]) => [k, valueOf(v, vars)]));
    const value = def.resolve ? def.resolve(parent, args) : parent?.[f.name];
    if (def.kind === 'scalar') { out[key] = value ?? null; continue; }
    if (value == null) { out[key] = null; continue; }
    if (def.kind === 'object') { cost.n += 1; out[key] = execute(types, def.type, value, f.selections!, vars, cost); continue; }
    if (def.kind === 'list') { out[key] = (value as unknown[]).map((v) => execute(types, def.type, v, f.selections!, vars, cost)); continue; }
    const page = connection(value as Array<Record<string, any>>, args);
    cost.n += 2;
    const conn: Record<string, unknown> = {};
    for (const c of f.selections!) {
      const ck = c.alias || c.name;
      if (c.name === '__typename') conn[ck] = `${def.type}Connection`;
      else if (c.name === 'pageInfo') conn[ck] = execute(types, 'PageInfo', page.pageInfo, c.selections!, vars, cost);
      else if (c.name === 'nodes') conn[ck] = page.nodes.map((n) => (cost.n += 1, execute(types, def.type, n, c.selections!, vars, cost)));
      else conn[ck] = page.edges.map((e) => {
        const edge: Record<string, unknown> = {};
        for (const ef of c.selections!) {
          const ek = ef.alias || ef.name;
          if (ef.name === 'cursor') edge[ek] = e.cursor;
          else if (ef.name === '__typename') edge[ek] = `${def.type}Edge`;
          else { cost.n += 1; edge[ek] = execute(types, def.type, e.node, ef.selections!, vars, cost); }
        }
        return edge;
      });
    }
    out[key] = conn;
  }
  return out;
}

export type GraphqlLimits = { maximumAvailable: number; restoreRate: number };
/** Standard plan: 100 points/s. The bucket (2,000) is 20 s of restore, like the REST bucket; Shopify's page lists only the rates. */
export const DEFAULT_GRAPHQL_LIMITS: GraphqlLimits = { maximumAvailable: 2000, restoreRate: 100 };
const MAX_QUERY_COST = 1000;

/** One store's cost bucket per sandbox; `run` answers one GraphQL request. */
export function createGraphql() {
  let limits = DEFAULT_GRAPHQL_LIMITS;
  const buckets = new Map<string, { available: number; at: number }>();
  function bucket(store: string, now: number) {
    const b = buckets.get(store) ?? { available: limits.maximumAvailable, at: now };
    b.available = Math.min(limits.maximumAvailable, b.available + ((now - b.at) / 1000) * limits.restoreRate);
    b.at = now;
    buckets.set(store, b);
    return b;
  }
  const throttleStatus = (b: { available: number }) => ({ maximumAvailable: limits.maximumAvailable, currentlyAvailable: Math.floor(b.available), restoreRate: limits.restoreRate });

  function run(store: string, data: StoreData, body: string, now: number): Reply {
    let request: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      request = JSON.parse(body || '{}') as typeof request;
    } catch {
      return json(400, { errors: 'Bad Request' });
    }
    if (typeof request.query !== 'string' || !request.query.trim()) return json(200, { errors: [{ message: 'No query string was present' }] });
    let op: Operation | undefined;
    try {
      const ops = parse(request.query);
      op = typeof request.operationName === 'string' ? ops.find((o) => o.name === request.operationName) : ops.length === 1 ? ops[0] : undefined;
      if (!op) return json(200, { errors: [{ message: 'An operation name is required' }] });
    } catch (err) {
      if (err instanceof GraphqlSyntaxError) return json(200, { errors: [{ message: `${err.message} at [${err.line}, ${err.column}]`, locations: [{ line: err.line, column: err.column }] }] });
      throw err;
    }
    if (op.type !== 'query') return json(200, { errors: [{ message: `The Keyhold sandbox answers queries only, not ${op.type}s` }] });
    const given = (request.variables && typeof request.variables === 'object' ? request.variables : {}) as Record<string, unknown>;
    const vars: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(op.variables)) {
      vars[name] = name in given ? given[name] : valueOf(v.default, {});
      if (vars[name] == null && v.type.endsWith('!')) return json(200, { errors: [{ message: `Variable $${name} of type ${v.type} was provided invalid value`, extensions: { value: null, problems: [{ path: [], explanation: 'Expected value to not be null' }] } }] });
    }
    const types = schema(data);
    let requested: number;
    try {
      requested = requestedCost(types, 'QueryRoot', op.selections, vars, [op.name ?? 'query']);
    } catch (err) {
      if (err instanceof QueryError) return json(200, { errors: [err.error] });
      throw err;
    }
    if (requested > MAX_QUERY_COST) {
      return json(200, { errors: [{ message: `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_QUERY_COST}).`, extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: MAX_QUERY_COST } }] });
    }
    const b = bucket(store, now);
    if (b.available < requested) {
      return json(200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
        extensions: { cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: throttleStatus(b) } },
      });
    }
    const cost = { n: 0 };
    const result = execute(types, 'QueryRoot', null, op.selections, vars, cost);
    // The requested cost is taken up front; the difference to the actual cost is given back.
    b.available -= cost.n;
    return json(200, { data: result, extensions: { cost: { requestedQueryCost: requested, actualQueryCost: cost.n, throttleStatus: throttleStatus(b) } } });
  }

  return {
    run,
    api: {
      /** The store's GraphQL bucket (default: Shopify's Standard plan). */
      configure(l: Partial<GraphqlLimits>) {
        limits = { ...limits, ...l };
        buckets.clear();
      },
      reset() {
        limits = DEFAULT_GRAPHQL_LIMITS;
        buckets.clear();
      },
    },
  };
}
