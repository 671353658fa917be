// Generated from packages/server/catalog/providers/*.yaml by `npm run catalog:generate`; do not edit.

/** Credential and config field names of each catalog provider (true = required). */
export const PROVIDER_FIELDS = {
  'amazon-sp-api': { credentials: { accessToken: true, refreshToken: true }, config: { sellingPartnerId: true, marketplaceId: true, region: true } },
  'anthropic': { credentials: { apiKey: true }, config: { requestsPerMinute: false } },
  'assemblyai': { credentials: { apiKey: true, webhookAuthHeaderValue: false }, config: { webhookAuthHeaderName: false } },
  'capricorn': { credentials: { apiKey: true }, config: { customerId: true } },
  'custom': { credentials: { apiKey: true, webhookSecret: false }, config: { baseUrl: true, headerName: true, headerTemplate: true, verifyPath: false, webhookMode: false, webhookSignatureHeader: false, webhookSignatureEncoding: false, webhookSignaturePrefix: false } },
  'kustomer': { credentials: { apiKey: true, webhookSecret: false }, config: { orgSubdomain: true } },
  'messenger': { credentials: { accessToken: true }, config: { pageId: true } },
  'mux': { credentials: { apiKey: true, apiSecret: true, webhookSecret: false }, config: {} },
  'openai': { credentials: { apiKey: true }, config: { organization: false, requestsPerMinute: false } },
  'quickbooks': { credentials: { accessToken: true, refreshToken: true }, config: { realmId: true } },
  'resend': { credentials: { apiKey: true, webhookSecret: false }, config: { fromAddress: false, fromName: false, replyTo: false } },
  'shopify': { credentials: { accessToken: true, refreshToken: false }, config: { storeDomain: true, apiVersion: false, restRequestsPerSecond: false, restBucketSize: false } },
  'slack': { credentials: { accessToken: true }, config: { teamId: false, enterpriseId: false, orgWideInstall: false, channel: false } },
  'stripe': { credentials: { apiKey: true, publishableKey: false, webhookSecret: false }, config: { apiVersion: false } },
  'unleashed': { credentials: { apiId: true, apiKey: true, webhookSigningKey: false }, config: { currency: false } },
  'wise': { credentials: { apiKey: true, webhookPublicKey: false }, config: { profileId: true } },
  'xero': { credentials: { accessToken: true, refreshToken: true }, config: { xeroTenantId: true, region: false, dailyLimit: false } },
} as const;
