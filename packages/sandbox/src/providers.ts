import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { kustomerAuth } from './kustomer/auth.js';
import { resendApi } from './resend/api.js';
import { receivedQuery, unleashedSignature } from './unleashed.js';

export type Reply = { status: number; body: unknown; headers?: Record<string, string> };
export type Seeded = Map<string, Array<Record<string, string>>>;

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};
const bearer = (req: IncomingMessage) => /^Bearer (.+)$/.exec(header(req, 'authorization') ?? '')?.[1];
const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Each provider's verify endpoint, auth scheme and error replies as the provider documents them.
 * `keys` holds the credentials seeded by a test for that provider.
 */
export type VerifyRoute = {
  method: string;
  /** A fixed path, or a pattern whose first group the check receives (e.g. a Shopify store domain). */
  path: string | RegExp;
  check(req: IncomingMessage, url: URL, keys: Array<Record<string, string>>, match?: string): Reply;
};

export const VERIFY_ROUTES: Record<string, VerifyRoute> = {
  // Shopify serves each store at its own domain; the sandbox takes it as the first path segment.
  shopify: {
    method: 'GET', path: /^\/([a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com)\/admin\/api\/\d{4}-\d{2}\/shop\.json$/,
    check: (req, _u, keys, store) => keys.some((k) => k.accessToken === header(req, 'x-shopify-access-token') && k.storeDomain === store)
      ? { status: 200, body: { shop: { myshopify_domain: store, name: 'Sandbox store' } } }
      : { status: 401, body: { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' } },
  },
  stripe: {
    method: 'GET', path: '/v1/balance',
    check: (req, _u, keys) => keys.some((k) => k.apiKey === bearer(req))
      ? { status: 200, body: { object: 'balance', available: [{ amount: 0, currency: 'usd' }], livemode: false } }
      : { status: 401, body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } } },
  },
  resend: {
    method: 'GET', path: '/domains',
    check: (req, _u, keys) => resendApi(req, '/domains', '', keys)!,
  },
  openai: {
    method: 'GET', path: '/v1/models',
    check: (req, _u, keys) => keys.some((k) => k.apiKey === bearer(req))
      ? { status: 200, body: { object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] } }
      : { status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } },
  },
  anthropic: {
    method: 'GET', path: '/v1/models',
    check: (req, _u, keys) => !header(req, 'anthropic-version')
      ? { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } } }
      // The API takes the key as `x-api-key`; newer official clients send it as a Bearer token.
      : keys.some((k) => k.apiKey === header(req, 'x-api-key') || k.apiKey === bearer(req))
        ? { status: 200, body: { data: [{ id: 'claude-sonnet-4-5', type: 'model' }], has_more: false } }
        : { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } },
  },
  mux: {
    method: 'GET', path: '/video/v1/assets',
    check: (req, _u, keys) => keys.some((k) => `Basic ${Buffer.from(`${k.apiKey}:${k.apiSecret}`).toString('base64')}` === header(req, 'authorization'))
      ? { status: 200, body: { data: [] } }
      : { status: 401, body: { error: { type: 'unauthorized', messages: ['Unauthorized request'] } } },
  },
  assemblyai: {
    method: 'GET', path: '/v2/transcript',
    check: (req, _u, keys) => keys.some((k) => k.apiKey === header(req, 'authorization'))
      ? { status: 200, body: { page_details: { limit: 1 }, transcripts: [] } }
      : { status: 401, body: { error: 'Authentication error, API token missing/invalid' } },
  },
  wise: {
    method: 'GET', path: '/v2/profiles',
    check: (req, _u, keys) => keys.some((k) => k.apiKey === bearer(req))
      ? { status: 200, body: [{ id: 12345678, type: 'BUSINESS' }] }
      : { status: 401, body: { error: 'invalid_token', error_description: 'Invalid token' } },
  },
  kustomer: kustomerAuth,
  capricorn: {
    method: 'GET', path: '/v1/account',
    check: (req, _u, keys) => keys.some((k) => k.apiKey === bearer(req) && k.customerId === header(req, 'x-customer-id'))
      ? { status: 200, body: { customerId: header(req, 'x-customer-id') } }
      : { status: 401, body: { message: 'Unauthorized' } },
  },
  // A tenant-defined API (Keyhold's `custom` provider), keyed by the header name the test chose.
  custom: {
    method: 'GET', path: '/v1/me',
    check: (req, _u, keys) => keys.some((k) => k.apiKey !== undefined && header(req, k.headerName ?? 'authorization') === `${k.prefix ?? ''}${k.apiKey}`)
      ? { status: 200, body: { ok: true } }
      : { status: 401, body: { error: 'unauthorized' } },
  },
  unleashed: {
    method: 'GET', path: '/Currencies',
    check: (req, _u, keys) => {
      const key = keys.find((k) => k.apiId === header(req, 'api-auth-id'));
      const sent = header(req, 'api-auth-signature') ?? '';
      return key && same(sent, unleashedSignature(key.apiKey!, receivedQuery(req)))
        ? { status: 200, body: { Pagination: { NumberOfItems: 0 }, Items: [] } }
        : { status: 403, body: { description: 'Forbidden', message: 'Invalid api-auth-signature' } };
    },
  },
};
