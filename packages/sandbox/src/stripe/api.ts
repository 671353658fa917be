import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Reply } from '../providers.js';
import type { LimitSettings } from '../limits.js';
import { ACCOUNT_DEFAULT_VERSION, isKnownVersion } from './version.js';

/**
 * Enough of Stripe's v1 API for the official `stripe` client and Keyhold's proxy: balance,
 * customers and payment intents (create, retrieve, list with cursor pagination), each object with
 * every field the API reference lists (https://docs.stripe.com/api/customers/object,
 * https://docs.stripe.com/api/payment_intents/object, https://docs.stripe.com/api/balance/balance_object,
 * compared with the `stripe` package's types). Each key is its own account with its own objects.
 */
type StripeObject = Record<string, unknown> & { id: string };
type Account = { customers: StripeObject[]; paymentIntents: StripeObject[] };
export type StripeState = Map<string, Account>;
export const newStripeState = (): StripeState => new Map();

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Stripe takes the secret key as a Bearer token or as the Basic username (`curl -u sk_…:`). https://docs.stripe.com/api/authentication */
export function stripeKey(auth: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth)?.[1];
  return basic ? Buffer.from(basic, 'base64').toString('utf8').split(':')[0] : undefined;
}

const isTestKey = (key: string) => /^(sk|rk)_test_/.test(key);
const error = (status: number, message: string, extra: Record<string, string> = {}): Reply => ({ status, body: { error: { message, type: 'invalid_request_error', ...extra } } });
const masked = (key: string) => `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
const now = () => Math.floor(Date.now() / 1000);

/** Stripe bodies are form-encoded: `metadata[k]=v` nests one level, `list[0]=v` is an array. */
function form(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const m = /^(\w+)\[(\w*)\]$/.exec(k);
    if (!m) out[k] = v;
    else if (/^\d*$/.test(m[2]!)) out[m[1]!] = [...((out[m[1]!] as unknown[]) ?? []), v];
    else out[m[1]!] = { ...((out[m[1]!] as object) ?? {}), [m[2]!]: v };
  }
  return out;
}

/** A list page, newest first, cut by `limit` (1–100, default 10) after `starting_after` or before `ending_before`. https://docs.stripe.com/api/pagination */
function page(all: StripeObject[], url: URL, path: string): Reply {
  const q = url.searchParams;
  const limit = Number(q.get('limit') ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return error(400, 'Invalid limit: must be an integer between 1 and 100', { param: 'limit' });
  const newest = [...all].reverse();
  const after = q.get('starting_after');
  const before = q.get('ending_before');
  const at = (cursor: string, param: string) => {
    const i = newest.findIndex((o) => o.id === cursor);
    return i < 0 ? error(400, `No such object: '${cursor}'`, { param }) : i;
  };
  let data: StripeObject[];
  let more: boolean;
  if (after) {
    const i = at(after, 'starting_after');
    if (typeof i !== 'number') return i;
    data = newest.slice(i + 1, i + 1 + limit);
    more = newest.length > i + 1 + limit;
  } else if (before) {
    const i = at(before, 'ending_before');
    if (typeof i !== 'number') return i;
    data = newest.slice(Math.max(0, i - limit), i);
    more = i - limit > 0;
  } else {
    data = newest.slice(0, limit);
    more = newest.length > limit;
  }
  return { status: 200, body: { object: 'list', data, has_more: more, url: path } };
}

function customer(f: Record<string, unknown>, livemode: boolean): StripeObject {
  return {
    id: id('cus'), object: 'customer', address: null, balance: 0, created: now(), currency: null, default_source: null, delinquent: false,
    description: f.description ?? null, discount: null, email: f.email ?? null, invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode, metadata: f.metadata ?? {}, name: f.name ?? null, next_invoice_sequence: 1, phone: f.phone ?? null, preferred_locales: [],
    shipping: null, tax_exempt: 'none', test_clock: null,
  };
}

/**
 * Endive (2026-09-30) replaced the `payment_method_types` parameter with `allowed_payment_method_types`
 * (stripe-node 23.0.0 changelog: https://github.com/stripe/stripe-node/blob/master/CHANGELOG.md);
 * each version refuses the other's parameter as unknown, so an unpinned request shows here.
 */
const ENDIVE = '2026-09-30';

function paymentIntent(f: Record<string, unknown>, livemode: boolean, version: string): StripeObject | Reply {
  const param = version >= ENDIVE ? 'allowed_payment_method_types' : 'payment_method_types';
  const other = version >= ENDIVE ? 'payment_method_types' : 'allowed_payment_method_types';
  if (f[other] !== undefined) return error(400, `Received unknown parameter: ${other}`, { param: other });
  const amount = Number(f.amount);
  if (f.amount === undefined) return error(400, 'Missing required param: amount.', { param: 'amount' });
  if (!Number.isInteger(amount) || amount < 1) return error(400, 'This value must be greater than or equal to 1.', { param: 'amount' });
  if (typeof f.currency !== 'string') return error(400, 'Missing required param: currency.', { param: 'currency' });
  const pi = id('pi');
  const types = Array.isArray(f[param]) ? (f[param] as string[]) : undefined;
  return {
    id: pi, object: 'payment_intent', allowed_payment_method_types: version >= ENDIVE ? (types ?? null) : null, amount, amount_capturable: 0, amount_details: { tip: {} }, amount_received: 0,
    application: null, application_fee_amount: null,
    // Without explicit payment_method_types the API turns automatic payment methods on.
    automatic_payment_methods: types ? null : { allow_redirects: 'always', enabled: true },
    canceled_at: null, cancellation_reason: null, capture_method: f.capture_method ?? 'automatic_async',
    client_secret: `${pi}_secret_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`, confirmation_method: f.confirmation_method ?? 'automatic',
    created: now(), currency: f.currency.toLowerCase(), customer: f.customer ?? null, customer_account: null, description: f.description ?? null,
    excluded_payment_method_types: null, last_payment_error: null, latest_charge: null, livemode, managed_payments: null, metadata: f.metadata ?? {},
    next_action: null, on_behalf_of: null, payment_method: null, payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: types ?? ['card'], payment_record: null, processing: null, receipt_email: f.receipt_email ?? null, review: null,
    setup_future_usage: null, shipping: null, source: null, statement_descriptor: null, statement_descriptor_suffix: null,
    status: 'requires_payment_method', transfer_data: null, transfer_group: null,
  };
}

type Ctx = { req: IncomingMessage; url: URL; body: string; path: string; account: Account; livemode: boolean; version: string };
type Route = { method: string; path: RegExp; handle(ctx: Ctx, m: RegExpExecArray): Reply };

const ROUTES: Route[] = [
  { method: 'GET', path: /^\/v1\/balance$/, handle: ({ livemode }) => ({ status: 200, body: {
    object: 'balance', available: [{ amount: 0, currency: 'usd', source_types: { card: 0 } }], connect_reserved: [{ amount: 0, currency: 'usd' }],
    livemode, pending: [{ amount: 0, currency: 'usd', source_types: { card: 0 } }],
  } }) },
  { method: 'GET', path: /^\/v1\/customers$/, handle: ({ account, url, path }) => page(account.customers, url, path) },
  { method: 'POST', path: /^\/v1\/customers$/, handle: ({ account, body, livemode }) => {
    const c = customer(form(body), livemode);
    account.customers.push(c);
    return { status: 200, body: c };
  } },
  { method: 'GET', path: /^\/v1\/customers\/(\w+)$/, handle: ({ account }, m) => {
    const c = account.customers.find((x) => x.id === m[1]);
    return c ? { status: 200, body: c } : error(404, `No such customer: '${m[1]}'`, { param: 'id', code: 'resource_missing' });
  } },
  { method: 'GET', path: /^\/v1\/payment_intents$/, handle: ({ account, url, path }) => page(account.paymentIntents, url, path) },
  { method: 'POST', path: /^\/v1\/payment_intents$/, handle: ({ account, body, livemode, version }) => {
    const pi = paymentIntent(form(body), livemode, version);
    if ('status' in pi && typeof pi.status === 'number') return pi as Reply;
    account.paymentIntents.push(pi as StripeObject);
    return { status: 200, body: pi };
  } },
  { method: 'GET', path: /^\/v1\/payment_intents\/(\w+)$/, handle: ({ account }, m) => {
    const pi = account.paymentIntents.find((x) => x.id === m[1]);
    return pi ? { status: 200, body: pi } : error(404, `No such payment_intent: '${m[1]}'`, { param: 'intent', code: 'resource_missing' });
  } },
];

/**
 * One Stripe API request: authenticated with a seeded key, answered in the version the request
 * names (`Stripe-Version`) or else the account's default, which every answer names in its own
 * `Stripe-Version` header (the official client reads it as the response's `apiVersion`). Null
 * when the path is not one the sandbox serves.
 */
export function stripeApi(req: IncomingMessage, url: URL, path: string, body: string, keys: Array<Record<string, string>>, state: StripeState): Reply | null {
  const route = ROUTES.find((r) => r.method === req.method && r.path.test(path));
  if (!route) return null;
  const requestId = `req_${randomBytes(7).toString('hex')}`;
  const key = stripeKey(header(req, 'authorization') ?? '');
  const stamp = (r: Reply, version?: string): Reply => ({ ...r, headers: { ...r.headers, 'request-id': requestId, ...(version ? { 'stripe-version': version } : {}) } });
  if (!key) return stamp(error(401, 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').'));
  if (!keys.some((k) => k.apiKey === key)) return stamp(error(401, `Invalid API Key provided: ${masked(key)}`));
  const asked = header(req, 'stripe-version');
  if (asked !== undefined && !isKnownVersion(asked)) return stamp(error(400, `Invalid Stripe API version: ${asked}`));
  const version = asked ?? ACCOUNT_DEFAULT_VERSION;
  const account = state.get(key) ?? { customers: [], paymentIntents: [] };
  state.set(key, account);
  return stamp(route.handle({ req, url, body, path, account, livemode: !isTestKey(key), version }, route.path.exec(path)!), version);
}

/**
 * Stripe's limits per account and second: live mode 100, test mode (sandboxes) 25; a call over
 * them is a 429 (https://docs.stripe.com/rate-limits — checked 2026-11-27), with
 * `Stripe-Rate-Limited-Reason` and no `Retry-After` as a secondary source reports
 * (https://hivebook.wiki/wiki/stripe-api-rate-limits). No `Stripe-Should-Retry`: whether Stripe
 * sends one on a rate limit is not documented, and stripe-node retries a 429 only when it does.
 */
export const stripeLimits = (authorization: string): LimitSettings => ({
  windows: [{ name: 'second', limit: isTestKey(stripeKey(authorization) ?? '') ? 25 : 100, windowMs: 1000 }],
});

export const stripeRateLimited = (): Reply => ({
  status: 429,
  body: { error: { message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', type: 'invalid_request_error' } },
  headers: { 'stripe-rate-limited-reason': 'global-rate', 'request-id': `req_${randomBytes(7).toString('hex')}` },
});
