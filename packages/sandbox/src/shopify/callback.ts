import { createHmac } from 'node:crypto';

/**
 * Shopify's OAuth callback signature: hex HMAC-SHA256 with the app's client secret over the other
 * parameters sorted by key and form-encoded (a space as `+`, `/` as `%2F`, `=` as `%3D`), the message
 * @shopify/shopify-api 13 (lib/utils/hmac-validator.ts, `ProcessedQuery`) and shopify-api-ruby
 * (`URI.encode_www_form`) verify. `params` are the decoded values.
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant#step-1-verify-the-installation-request
 */
export function shopifyCallbackHmac(params: Record<string, string>, clientSecret: string): string {
  const pairs = new URLSearchParams();
  for (const k of Object.keys(params).filter((k) => k !== 'hmac' && k !== 'signature').sort()) pairs.append(k, params[k]!);
  return createHmac('sha256', clientSecret).update(pairs.toString()).digest('hex');
}
