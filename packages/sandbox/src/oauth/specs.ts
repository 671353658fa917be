import { randomB64, randomHex, type OAuthProvider } from './ids.js';

export type ProviderConfig = {
  accessTokenTtlSeconds: number;
  /** How long a used (rotated) refresh token keeps working (Shopify: at most, and only until its replacement is used). */
  refreshGraceSeconds: number;
  /** Shopify, `mintGrant` only: mint expiring offline tokens (a code exchange gets one only with `expiring=1`). */
  shopifyExpiringTokens: boolean;
  /**
   * A refresh within this many seconds of the refresh token's issue hands the same token back
   * (Intuit: about 24 h); 0 rotates on every use.
   */
  refreshTokenReuseSeconds: number;
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
  /** Whether the code exchange must repeat redirect_uri (Shopify's and LWA's need not; one sent must still match). */
  redirectUriAtToken: boolean;
  rotatesRefreshTokens: boolean;
  /** A used refresh token is retired as soon as one it was replaced by is used (Shopify since 2026-08-28). */
  graceEndsWhenReplacementUsed?: boolean;
  refreshTokenTtlSeconds?: number;
  /** Counted from the consent: no refresh token of the grant outlives it (Intuit: 5 years). */
  refreshTokenHardTtlSeconds?: number;
  /** Facebook answers in Graph's error shape, even at its token endpoint. */
  graphErrors: boolean;
  /** Slack answers every Web API call with HTTP 200 and `ok: true|false`. */
  okEnvelope?: boolean;
  defaultScope: string;
  defaults: ProviderConfig;
  newAccessToken(): string;
  newRefreshToken(): string;
};

const base = { refreshGraceSeconds: 0, shopifyExpiringTokens: false, refreshTokenReuseSeconds: 0 };

export const SPECS: Record<OAuthProvider, Spec> = {
  xero: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'basic', pkce: true, strictAuthorize: true, redirectUriAtToken: true,
    rotatesRefreshTokens: true, refreshTokenTtlSeconds: 60 * 86400, graphErrors: false,
    defaultScope: 'offline_access accounting.invoices.read accounting.payments.read accounting.contacts.read',
    defaults: { ...base, accessTokenTtlSeconds: 1800, refreshGraceSeconds: 1800 },
    newAccessToken: () => `xat_${randomB64(32)}`,
    newRefreshToken: () => randomHex(32),
  },
  // Intuit documents no PKCE and none of its OAuth clients sends it, so a challenge is not checked
  // (docs/providers/quickbooks.md, "Known quirks"). Refresh tokens: rolling 100 days, the same
  // value for about 24 h, at most 5 years from the consent —
  // https://github.com/intuit/oauth-jsclient/issues/74,
  // https://blogs.intuit.com/2025/11/12/important-changes-to-refresh-token-policy
  quickbooks: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'basic', pkce: false, strictAuthorize: true, redirectUriAtToken: true,
    rotatesRefreshTokens: true, refreshTokenTtlSeconds: 8726400, refreshTokenHardTtlSeconds: 5 * 365 * 86400, graphErrors: false,
    defaultScope: 'com.intuit.quickbooks.accounting',
    defaults: { ...base, accessTokenTtlSeconds: 3600, refreshTokenReuseSeconds: 86400 },
    newAccessToken: () => `eyJ${randomB64(48)}`,
    newRefreshToken: () => `AB11${randomHex(23)}`,
  },
  shopify: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'body', pkce: false, strictAuthorize: false, redirectUriAtToken: false,
    // The refresh token lives 90 days; a used one can be retried until its replacement is used,
    // for up to 30 days: https://shopify.dev/changelog/more-resilient-refreshes-for-expiring-offline-access-tokens
    rotatesRefreshTokens: true, graceEndsWhenReplacementUsed: true, refreshTokenTtlSeconds: 7776000, graphErrors: false,
    defaultScope: 'read_orders,read_products,read_inventory',
    defaults: { ...base, accessTokenTtlSeconds: 3600, refreshGraceSeconds: 30 * 86400 },
    newAccessToken: () => `shpat_${randomHex(16)}`,
    newRefreshToken: () => `shprt_${randomHex(16)}`,
  },
  // LWA's code exchange needs no redirect_uri: Amazon's own example request sends grant_type, code,
  // client_id and client_secret only, and so does the amazon-sp-api client's exchange()
  // (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow, step 4).
  'amazon-sp-api': {
    clientIdParam: 'application_id', codeParam: 'spapi_oauth_code', clientAuth: 'body', pkce: false, strictAuthorize: false, redirectUriAtToken: false,
    rotatesRefreshTokens: false, graphErrors: false,
    defaultScope: '',
    defaults: { ...base, accessTokenTtlSeconds: 3600 },
    newAccessToken: () => `Atza|${randomB64(48)}`,
    newRefreshToken: () => `Atzr|${randomB64(48)}`,
  },
  // The code exchange gives a short-lived user token (1 h); `fb_exchange_token` a long-lived one
  // (messenger/graph.ts): https://developers.facebook.com/docs/pages/access-tokens/
  messenger: {
    clientIdParam: 'client_id', codeParam: 'code', clientAuth: 'body', pkce: true, strictAuthorize: false, redirectUriAtToken: true,
    rotatesRefreshTokens: false, graphErrors: true,
    defaultScope: 'pages_show_list,pages_messaging,pages_manage_metadata',
    defaults: { ...base, accessTokenTtlSeconds: 3600 },
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
