import { createHmac, timingSafeEqual } from 'node:crypto';

/** Shopify rejects nothing older; callbacks older than this are refused (replayed links). */
export const SHOPIFY_CALLBACK_MAX_AGE_SECONDS = 90;

/**
 * Shopify's OAuth callback signature: drop `hmac` (and the legacy `signature`), sort the other
 * query parameters by key, join as `k=v` with `&`, HMAC-SHA256 with the app's client secret, hex.
 * Compared in constant time; the `timestamp` must be recent (and not from the future).
 */
export function shopifyCallbackHmac(query: Record<string, string>, clientSecret: string): string {
  const message = Object.keys(query)
    .filter((k) => k !== 'hmac' && k !== 'signature')
    .sort()
    .map((k) => `${k}=${query[k]}`)
    .join('&');
  return createHmac('sha256', clientSecret).update(message).digest('hex');
}

export function verifyShopifyCallback(query: Record<string, string>, clientSecret: string, now: Date): boolean {
  const sent = query.hmac ?? '';
  if (!/^[0-9a-f]{64}$/i.test(sent)) return false;
  const expected = shopifyCallbackHmac(query, clientSecret);
  if (!timingSafeEqual(Buffer.from(sent.toLowerCase()), Buffer.from(expected))) return false;
  const ts = Number(query.timestamp);
  const age = now.getTime() / 1000 - ts;
  return Number.isFinite(ts) && age <= SHOPIFY_CALLBACK_MAX_AGE_SECONDS && age >= -SHOPIFY_CALLBACK_MAX_AGE_SECONDS;
}
