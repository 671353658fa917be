import { AppError } from '../../platform/errors.js';
import type { ProviderAdapter, RateSignal, TokenAnswer } from '../adapter.js';
import { callbackInvalid } from '../shared/http.js';
import { verifyCallback } from './callback-hmac.js';
import { linksToProxy } from './links.js';
import { migrateToExpiringToken } from './migrate-token.js';
import { shopifyInventoryLevels, shopifyProducts } from './catalog-syncs.js';
import { shopifyOrders } from './syncs.js';
import { shopifyWebhooks } from './webhooks.js';

const SHOP_DOMAIN = /^[a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com$/;

/** Each store is its own authorization server: the store domain comes with the authorize call. */
function storeParams({ shop }: { shop?: string | undefined }) {
  if (!shop || !SHOP_DOMAIN.test(shop)) throw new AppError('VALIDATION_FAILED', 'shop: give the store domain, like acme.myshopify.com');
  return { storeDomain: shop.toLowerCase() };
}

/**
 * The token answer has no `token_type` (and a non-expiring offline token no `expires_in`);
 * the tokens are bearer tokens sent as `X-Shopify-Access-Token`.
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant#step-4-get-an-access-token
 */
export function shopifyTokenAnswer({ status, body }: TokenAnswer): TokenAnswer {
  if (status < 300 && typeof body.access_token === 'string' && typeof body.token_type !== 'string') return { status, body: { ...body, token_type: 'bearer' } };
  return { status, body };
}

/**
 * REST Admin API answers carry `X-Shopify-Shop-Api-Call-Limit: <used>/<bucket size>`.
 * https://shopify.dev/docs/api/admin-rest/usage/rate-limits
 */
export function shopifyRateSignals(header: (name: string) => string | undefined): RateSignal[] {
  const m = /^\s*(\d+)\/(\d+)\s*$/.exec(header('x-shopify-shop-api-call-limit') ?? '');
  return m ? [{ bucket: 'second', remaining: Number(m[2]) - Number(m[1]) }] : [];
}

export const shopify: ProviderAdapter = {
  id: 'shopify',
  oauth: {
    flow: 'shopify',
    authorizeParams: storeParams,
    callback(query, { app, params, now }) {
      if (query.shop !== params.storeDomain) throw callbackInvalid('The callback is for a different store than the one being connected');
      if (!verifyCallback(query, app.clientSecret, now)) throw callbackInvalid('The Shopify callback signature (hmac) is missing, wrong or too old');
      return new URLSearchParams(query);
    },
    // Expiring offline tokens (1 h, with a refresh token): required for public apps created since
    // 2026-04-01 and for all public apps from 2027-01-01; without `expiring=1` Shopify issues a
    // non-expiring token. https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens
    codeExchangeParams: () => ({ expiring: '1' }),
    tokenResponse: shopifyTokenAnswer,
    accounts: async ({ tokens }, { params }) => [
      { id: params.storeDomain!.toLowerCase(), name: params.storeDomain!, config: { storeDomain: params.storeDomain! }, neverExpires: tokens.expiresIn === undefined },
    ],
    // Connections made before Keyhold sent `expiring=1` hold non-expiring tokens, which Shopify
    // stops accepting on 2027-01-01: the background sweep migrates them.
    upgradeGrant: migrateToExpiringToken,
  },
  request: { responseHeaders: linksToProxy },
  rateSignals: shopifyRateSignals,
  webhooks: shopifyWebhooks,
  syncs: { orders: shopifyOrders, products: shopifyProducts, inventory_levels: shopifyInventoryLevels },
};
