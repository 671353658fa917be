import { createHmac, timingSafeEqual } from 'node:crypto';

/** Callbacks older (or further in the future) than this are refused: replayed links. */
export const CALLBACK_MAX_AGE_SECONDS = 90;

/**
 * The OAuth callback's signature: every query parameter but `hmac` (and the legacy `signature`),
 * sorted by key, joined as `k=v` with `&`, HMAC-SHA256 with the app's client secret, hex.
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant#step-1-verify-the-installation-request
 */
export function callbackHmac(query: Record<string, string>, clientSecret: string): string {
  const message = Object.keys(query)
    .filter((k) => k !== 'hmac' && k !== 'signature')
    .sort()
    .map((k) => `${k}=${query[k]}`)
    .join('&');
  return createHmac('sha256', clientSecret).update(message).digest('hex');
}

/** Compared in constant time; the `timestamp` must be recent (and not from the future). */
export function verifyCallback(query: Record<string, string>, clientSecret: string, now: Date): boolean {
  const sent = query.hmac ?? '';
  if (!/^[0-9a-f]{64}$/i.test(sent)) return false;
  if (!timingSafeEqual(Buffer.from(sent.toLowerCase()), Buffer.from(callbackHmac(query, clientSecret)))) return false;
  const ts = Number(query.timestamp);
  const age = now.getTime() / 1000 - ts;
  return Number.isFinite(ts) && age <= CALLBACK_MAX_AGE_SECONDS && age >= -CALLBACK_MAX_AGE_SECONDS;
}
