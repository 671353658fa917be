import { createHmac } from 'node:crypto';
import type { ProviderAdapter } from '../adapter.js';
import { unleashedStockOnHand } from './syncs.js';
import { unleashedWebhooks } from './webhooks.js';

/**
 * Each request is signed: base64(HMAC-SHA256(key = the API key, message = the query string
 * without `?`, empty when there is none)), sent as `api-auth-signature` next to `api-auth-id`.
 * https://apidocs.unleashedsoftware.com/AuthenticationHelp
 *
 * The message is the query exactly as sent, percent-encoded (`url.search` is what `url.toString()`
 * puts on the wire): Unleashed's page says only "the query string", and community clients sign
 * the encoded string they send (https://github.com/jsok/unleashed/blob/master/unleashed/auth.py);
 * signing the decoded values breaks on spaces, `&`, `+` and non-ASCII. See docs/providers/unleashed.md.
 */
export function unleashedSignature(apiKey: string, query: string): string {
  return createHmac('sha256', apiKey).update(query.replace(/^\?/, '')).digest('base64');
}

export const unleashed: ProviderAdapter = {
  id: 'unleashed',
  request: {
    scheme: 'unleashed_hmac',
    sign: ({ url, values }) => ({ 'api-auth-signature': unleashedSignature(values.secrets.apiKey ?? '', url.search) }),
  },
  webhooks: unleashedWebhooks,
  syncs: { stock_on_hand: unleashedStockOnHand },
};
