import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { VERIFY_ROUTES, type Reply } from './providers.js';
import { type StripeState, newStripeState, stripeApi } from './stripe/api.js';

/**
 * Data endpoints of the API-key providers: enough of Stripe, Resend, OpenAI, Anthropic and
 * Unleashed for the official clients and Keyhold's proxy. Authentication is exactly the
 * provider's verify route's (same seeded credentials, same error replies).
 */
type Route = { method: string; path: RegExp; handle(ctx: Ctx, m: RegExpExecArray): Reply };
type Ctx = { req: IncomingMessage; url: URL; body: string; state: ApiState };
export type ApiState = { stripe: StripeState };

const now = () => Math.floor(Date.now() / 1000);
const parseJson = (body: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

const ROUTES: Record<string, Route[]> = {
  resend: [
    { method: 'POST', path: /^\/emails$/, handle: ({ body }) => {
      const b = parseJson(body);
      const missing = ['from', 'to', 'subject'].find((k) => !b?.[k]);
      if (missing || (!b?.html && !b?.text)) return { status: 422, body: { statusCode: 422, name: 'validation_error', message: `Missing \`${missing ?? 'html or text'}\` field.` } };
      return { status: 200, body: { id: randomUUID() } };
    } },
  ],
  openai: [
    { method: 'POST', path: /^\/v1\/chat\/completions$/, handle: ({ body }) => {
      const b = parseJson(body);
      if (!b?.model || !Array.isArray(b.messages)) return { status: 400, body: { error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' } } };
      return { status: 200, body: {
        id: `chatcmpl-${randomBytes(12).toString('hex')}`, object: 'chat.completion', created: now(), model: b.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the Keyhold sandbox.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: b.messages.length * 8, completion_tokens: 7, total_tokens: b.messages.length * 8 + 7 },
      } };
    } },
  ],
  anthropic: [
    { method: 'POST', path: /^\/v1\/messages$/, handle: ({ body }) => {
      const b = parseJson(body);
      if (!b?.model || !Array.isArray(b.messages) || typeof b.max_tokens !== 'number') return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'model, messages and max_tokens are required' } } };
      return { status: 200, body: {
        id: `msg_${randomBytes(12).toString('hex')}`, type: 'message', role: 'assistant', model: b.model,
        content: [{ type: 'text', text: 'Hello from the Keyhold sandbox.' }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: b.messages.length * 8, output_tokens: 7 },
      } };
    } },
  ],
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
  if (provider === 'stripe') return stripeApi(ctx.req, ctx.url, path, ctx.body, keys, ctx.state.stripe);
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

export const newApiState = (): ApiState => ({ stripe: newStripeState() });
