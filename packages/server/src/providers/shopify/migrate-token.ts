import type { TokenSet } from '../../domains/oauth/oauth-client.js';
import { TokenRequestError } from '../../domains/oauth/token-error.js';
import type { UpgradeRequest } from '../adapter.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const OFFLINE_ACCESS_TOKEN = 'urn:shopify:params:oauth:token-type:offline-access-token';
const PLAIN_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Migrates a non-expiring offline token to an expiring one (1 h access token + 90-day refresh
 * token) by token exchange, without the merchant. The request is exactly @shopify/shopify-api's
 * `auth.migrateToExpiringToken` (13.x, lib/auth/oauth/migrate-to-expiring-token): a JSON POST
 * to the store's token endpoint with the client credentials in the body.
 * https://shopify.dev/docs/apps/build/authentication-authorization/migrate-to-expiring-offline-access-tokens
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens
 * The old token stops working once exchanged; a retry with it within 7 days answers the same
 * pair (until that pair is refreshed or replaced), so a lost answer is recovered by exchanging
 * again: https://shopify.dev/changelog/more-resilient-token-exchanges-when-migrating-tokens-without-a-user-session
 * Shopify does not document the refusal's shape: any 4xx is taken as definite, 5xx/429/network
 * as transient.
 */
export async function migrateToExpiringToken(req: UpgradeRequest): Promise<TokenSet> {
  const res = await req.http.request(req.tokenUrl, {
    method: 'POST',
    timeoutMs: req.timeoutMs,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      client_id: req.app.clientId,
      client_secret: req.app.clientSecret,
      grant_type: TOKEN_EXCHANGE,
      subject_token: req.accessToken,
      subject_token_type: OFFLINE_ACCESS_TOKEN,
      requested_token_type: OFFLINE_ACCESS_TOKEN,
      expiring: '1',
    }),
  }).catch(() => {
    throw new TokenRequestError('transient', undefined, undefined);
  });
  const body = (await res.body.json().catch(() => null)) as Record<string, unknown> | null;
  if (res.statusCode >= 500 || res.statusCode === 429) throw new TokenRequestError('transient', undefined, res.statusCode);
  const error = typeof body?.error === 'string' && PLAIN_CODE.test(body.error) ? body.error : undefined;
  if (res.statusCode !== 200) throw new TokenRequestError(error === 'invalid_grant' ? 'invalid_grant' : 'rejected', error, res.statusCode);
  const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn } = body ?? {};
  // An answer without expiry or refresh token did not migrate anything: as good as a refusal.
  if (typeof accessToken !== 'string' || typeof refreshToken !== 'string' || typeof expiresIn !== 'number') {
    throw new TokenRequestError('rejected', 'not_expiring', res.statusCode);
  }
  return { accessToken, refreshToken, expiresIn, ...(typeof body?.scope === 'string' ? { scope: body.scope } : {}) };
}
