import { randomB64, randomHex, type OAuthProvider } from './ids.js';

export type ProviderConfig = {
  accessTokenTtlSeconds: number;
  /** How long a used (rotated) refresh token keeps working. */
  refreshGraceSeconds: number;
  /** Shopify, `mintGrant` only: mint expiring offline tokens (a code exchange gets one only with `expiring=1`). */
  shopifyExpiringTokens: boolean;
};

/** How one provider's authorization server differs from the others, as the provider documents it. */
export type Spec = {
  /** The authorize query parameter naming the app (Seller Central: `application_id`). */
  clientIdParam: string;
  /** The callback parameter carrying the code (Amazon: `spapi_oauth_code`). */
  codeParam: string;
  clientAuth: 'basic' | 'body';
  /** Shopify and LWA ignore PKCE parameters, so a challenge sent to them is ignored too. */
  pkce: boolean;
  /** Whether `response_type=code` and `scope` must be on the authorize URL. */
  strictAuthorize: boolean;
  /** Shopify's token request carries no redirect_uri; the others must repeat it. */
  redirectUriAtToken: boolean;
  rotatesRefreshTokens: boolean;
  refreshTokenTtlSeconds?: number;
  /** Facebook answers in Graph's error shape, even at its token endpoint. */
  graphErrors: boolean;
  /** Slack answers every Web API call with HTTP 200 and `ok: true|false`. */
  okEnvelope?: boolean;
  defaultScope: string;
  defaults: ProviderConfig;
  newAccessToken(): string;
  newRefreshToken(): string;
};

const base = { refreshGraceSeconds: 0, shopifyExpiringTokens: false };

export const SPECS: Record<OAuthProvider, Spec> = {
  xero: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'basic', pkce: true, strictAuthorize: true, redirectUriAtToken: true,
    rotatesRefreshTokens: true, refreshTokenTtlSeconds: 60 * 86400, graphErrors: false,
    defaultScope: 'offline_access accounting.invoices.read accounting.payments.read accounting.contacts.read',
    defaults: { ...base, accessTokenTtlSeconds: 1800, refreshGraceSeconds: 1800 },
    newAccessToken: () => `xat_${randomB64(32)}`,
    newRefreshToken: () => randomHex(32),
  },
  quickbooks: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'basic', pkce: true, strictAuthorize: true, redirectUriAtToken: true,
    rotatesRefreshTokens: true, refreshTokenTtlSeconds: 8726400, graphErrors: false,
    defaultScope: 'com.intuit.quickbooks.accounting',
    defaults: { ...base, accessTokenTtlSeconds: 3600 },
    newAccessToken: () => `eyJ${randomB64(48)}`,
    newRefreshToken: () => `AB11${randomHex(23)}`,
  },
  shopify: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'body', pkce: false, strictAuthorize: false, redirectUriAtToken: false,
    rotatesRefreshTokens: true, refreshTokenTtlSeconds: 7776000, graphErrors: false,
    defaultScope: 'read_orders,read_products,read_inventory',
    defaults: { ...base, accessTokenTtlSeconds: 3600 },
    newAccessToken: () => `shpat_${randomHex(16)}`,
    newRefreshToken: () => `shprt_${randomHex(16)}`,
  },
  'amazon-sp-api': {
    clientIdParam: 'application_id', codeParam: 'spapi_oauth_code', clientAuth: 'body', pkce: false, strictAuthorize: false, redirectUriAtToken: true,
    rotatesRefreshTokens: false, graphErrors: false,
    defaultScope: '',
    defaults: { ...base, accessTokenTtlSeconds: 3600 },
    newAccessToken: () => `Atza|${randomB64(48)}`,
    newRefreshToken: () => `Atzr|${randomB64(48)}`,
  },
  messenger: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'body', pkce: true, strictAuthorize: false, redirectUriAtToken: true,
    rotatesRefreshTokens: false, graphErrors: true,
    defaultScope: 'pages_show_list,pages_messaging,pages_manage_metadata',
    defaults: { ...base, accessTokenTtlSeconds: 5183944 },
    newAccessToken: () => `EAA${randomHex(40)}`,
    newRefreshToken: () => '',
  },
  // Slack bot tokens (oauth.v2.access) do not expire unless token rotation is turned on.
  slack: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'body', pkce: false, strictAuthorize: false, redirectUriAtToken: true,
    rotatesRefreshTokens: false, graphErrors: false, okEnvelope: true,
    defaultScope: 'chat:write',
    defaults: { ...base, accessTokenTtlSeconds: 0 },
    newAccessToken: () => `xoxb-${randomHex(6)}-${randomHex(6)}-${randomB64(18).replace(/[-_]/g, 'x')}`,
    newRefreshToken: () => '',
  },
};
