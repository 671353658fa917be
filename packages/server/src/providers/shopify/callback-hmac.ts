import { createHmac, timingSafeEqual } from 'node:crypto';

/** Callbacks older (or further in the future) than this are refused: replayed links. */
export const CALLBACK_MAX_AGE_SECONDS = 90;

/**
 * The message Shopify's OAuth callback signature covers: every query parameter but `hmac` (and the
 * legacy `signature`), sorted by key, form-encoded (`application/x-www-form-urlencoded`, as
 * `URLSearchParams` writes it) and joined with `&`. This is how the official libraries build it:
 * @shopify/shopify-api 13 (`ProcessedQuery`, lib/utils/hmac-validator.ts) and shopify-api-ruby
 * (`URI.encode_www_form`, lib/shopify_api/auth/oauth/auth_query.rb). With `spaces: '%20'` a space is
 * written `%20` instead of `+`, as @shopify/shopify-api does since it fixed Shopify-signed values
 * containing spaces (https://github.com/Shopify/shopify-app-js/pull/3102).
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant#step-1-verify-the-installation-request
 */
export function callbackMessage(query: Record<string, string>, spaces: '+' | '%20' = '+'): string {
  const pairs = new URLSearchParams();
  // Code-point order: Shopify's parameter names are lowercase ASCII, where it equals localeCompare.
  for (const k of Object.keys(query).filter((k) => k !== 'hmac' && k !== 'signature').sort()) pairs.append(k, query[k]!);
  const message = pairs.toString();
  return spaces === '+' ? message : message.replace(/\+/g, '%20');
}

/** The hex HMAC-SHA256 of `callbackMessage` with the app's client secret. */
export function callbackHmac(query: Record<string, string>, clientSecret: string, spaces: '+' | '%20' = '+'): string {
  return createHmac('sha256', clientSecret).update(callbackMessage(query, spaces)).digest('hex');
}

/**
 * `query` is the callback's query as decoded (`+` is a space). Compared in constant time against
 * both spellings of a space (each is a one-to-one encoding of the same pairs, so accepting either
 * lets no other set of parameters through); the `timestamp` must be recent (and not from the future).
 */
export function verifyCallback(query: Record<string, string>, clientSecret: string, now: Date): boolean {
  const sent = query.hmac ?? '';
  if (!/^[0-9a-f]{64}$/i.test(sent)) return false;
  const given = Buffer.from(sent.toLowerCase());
  const matches = (['+', '%20'] as const).map((spaces) => timingSafeEqual(given, Buffer.from(callbackHmac(query, clientSecret, spaces))));
  if (!matches.includes(true)) return false;
  const ts = Number(query.timestamp);
  const age = now.getTime() / 1000 - ts;
  return Number.isFinite(ts) && age <= CALLBACK_MAX_AGE_SECONDS && age >= -CALLBACK_MAX_AGE_SECONDS;
}
