import type { IncomingMessage } from 'node:http';
import { VERIFY_ROUTES, type Reply } from './providers.js';
import { type StripeState, newStripeState, stripeApi } from './stripe/api.js';
import { ANTHROPIC_ROUTES } from './anthropic/api.js';
import { OPENAI_ROUTES } from './openai/api.js';
import { resendApi } from './resend/api.js';
import { stockOnHand } from './unleashed-stock.js';

/**
 * Data endpoints of the API-key providers: enough of Stripe, Resend, OpenAI, Anthropic and
 * Unleashed for the official clients and Keyhold's proxy. Authentication is exactly the
 * provider's verify route's (same seeded credentials, same error replies).
 */
export type ApiRoute = { method: string; path: RegExp; handle(ctx: ApiCtx, m: RegExpExecArray): Reply };
export type ApiCtx = { req: IncomingMessage; url: URL; body: string; state: ApiState };
export type ApiState = { stripe: StripeState };

const ROUTES: Record<string, ApiRoute[]> = {
  openai: OPENAI_ROUTES,
  anthropic: ANTHROPIC_ROUTES,
  unleashed: [
    { method: 'GET', path: /^\/StockOnHand(?:\/(\d+))?$/, handle: (c, m) => stockOnHand(String(c.req.headers['api-auth-id'] ?? ''), m[1], c.url) },
  ],
};

/** The reply of one API-key data route, or null when `path` is not one. */
export function apiRoute(provider: string, path: string, ctx: ApiCtx, keys: Array<Record<string, string>>): Reply | null {
  if (provider === 'stripe') return stripeApi(ctx.req, ctx.url, path, ctx.body, keys, ctx.state.stripe);
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

export const newApiState = (): ApiState => ({ stripe: newStripeState() });
