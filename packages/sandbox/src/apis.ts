import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { VERIFY_ROUTES, type Reply } from './providers.js';
import { ANTHROPIC_ROUTES } from './anthropic/api.js';
import { OPENAI_ROUTES } from './openai/api.js';
import { resendApi } from './resend/api.js';

/**
 * Data endpoints of the API-key providers: enough of Stripe, Resend, OpenAI, Anthropic and
 * Unleashed for the official clients and Keyhold's proxy. Authentication is exactly the
 * provider's verify route's (same seeded credentials, same error replies).
 */
export type ApiRoute = { method: string; path: RegExp; handle(ctx: ApiCtx, m: RegExpExecArray): Reply };
export type ApiCtx = { req: IncomingMessage; url: URL; body: string; state: ApiState };
type Route = ApiRoute;
type Ctx = ApiCtx;
export type ApiState = { customers: Map<string, Record<string, unknown>>; paymentIntents: Map<string, Record<string, unknown>> };

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
const now = () => Math.floor(Date.now() / 1000);
/** Stripe bodies are form-encoded (`metadata[k]=v` nests one level). */
function form(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const m = /^(\w+)\[(\w+)\]$/.exec(k);
    if (m) out[m[1]!] = { ...((out[m[1]!] as object) ?? {}), [m[2]!]: v };
    else out[k] = v;
  }
  return out;
}
const parseJson = (body: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};
const stripeError = (status: number, message: string, param?: string): Reply => ({ status, body: { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } } });

const ROUTES: Record<string, Route[]> = {
  stripe: [
    { method: 'GET', path: /^\/v1\/customers$/, handle: ({ state, url }) => {
      const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 10));
      const data = [...state.customers.values()].reverse().slice(0, limit);
      return { status: 200, body: { object: 'list', data, has_more: state.customers.size > data.length, url: '/v1/customers' } };
    } },
    { method: 'POST', path: /^\/v1\/customers$/, handle: ({ state, body }) => {
      const f = form(body);
      const c = { id: id('cus'), object: 'customer', created: now(), email: f.email ?? null, name: f.name ?? null, metadata: f.metadata ?? {}, livemode: false };
      state.customers.set(c.id, c);
      return { status: 200, body: c };
    } },
    { method: 'GET', path: /^\/v1\/customers\/(cus_\w+)$/, handle: ({ state }, m) => {
      const c = state.customers.get(m[1]!);
      return c ? { status: 200, body: c } : stripeError(404, `No such customer: '${m[1]}'`, 'id');
    } },
    { method: 'POST', path: /^\/v1\/payment_intents$/, handle: ({ state, body }) => {
      const f = form(body);
      const amount = Number(f.amount);
      if (!Number.isInteger(amount) || amount < 1) return stripeError(400, 'Missing required param: amount.', 'amount');
      if (typeof f.currency !== 'string') return stripeError(400, 'Missing required param: currency.', 'currency');
      const pi_ = id('pi');
      const pi = { id: pi_, object: 'payment_intent', amount, currency: f.currency, status: 'requires_payment_method', client_secret: `${pi_}_secret_${randomBytes(8).toString('hex')}`, created: now(), livemode: false, customer: f.customer ?? null, metadata: f.metadata ?? {} };
      state.paymentIntents.set(pi.id, pi);
      return { status: 200, body: pi };
    } },
    { method: 'GET', path: /^\/v1\/payment_intents\/(pi_\w+)$/, handle: ({ state }, m) => {
      const pi = state.paymentIntents.get(m[1]!);
      return pi ? { status: 200, body: pi } : stripeError(404, `No such payment_intent: '${m[1]}'`, 'intent');
    } },
  ],
  openai: OPENAI_ROUTES,
  anthropic: ANTHROPIC_ROUTES,
  unleashed: [
    { method: 'GET', path: /^\/StockOnHand(?:\/(\d+))?$/, handle: (_c, m) => ({ status: 200, body: {
      Pagination: { NumberOfItems: 2, PageSize: 200, PageNumber: Number(m[1] ?? 1), NumberOfPages: 1 },
      Items: [
        { ProductCode: 'WIDGET-1', ProductDescription: 'Widget', QtyOnHand: 120, AvailableQty: 100, Warehouse: { WarehouseCode: 'MAIN' } },
        { ProductCode: 'GADGET-2', ProductDescription: 'Gadget', QtyOnHand: 8, AvailableQty: 8, Warehouse: { WarehouseCode: 'MAIN' } },
      ],
    } }) },
  ],
};

/** The reply of one API-key data route, or null when `path` is not one. */
export function apiRoute(provider: string, path: string, ctx: Ctx, keys: Array<Record<string, string>>): Reply | null {
  // Resend authorizes per endpoint (a sending-only key may send, nothing else).
  if (provider === 'resend') return resendApi(ctx.req, path, ctx.body, keys);
  for (const r of ROUTES[provider] ?? []) {
    const m = r.method === ctx.req.method ? r.path.exec(path) : null;
    if (!m) continue;
    const verify = VERIFY_ROUTES[provider]!;
    // Authenticate exactly as the provider's verify route does (signature over this query included).
    const auth = verify.check(ctx.req, ctx.url, keys);
    if (auth.status !== 200) return auth;
    return r.handle(ctx, m);
  }
  return null;
}

export const newApiState = (): ApiState => ({ customers: new Map(), paymentIntents: new Map() });
