/**
 * Credential and config field names of each catalog provider (true = required). Mirrors
 * packages/server/catalog/providers/*.yaml; a server test fails when the two differ.
 */
export const PROVIDER_FIELDS = {
  'amazon-sp-api': { credentials: { accessToken: true, refreshToken: true }, config: { sellingPartnerId: true, marketplaceId: true, region: true } },
  'anthropic': { credentials: { apiKey: true }, config: {} },
  'assemblyai': { credentials: { apiKey: true }, config: {} },
  'capricorn': { credentials: { apiKey: true }, config: { customerId: true } },
  'custom': { credentials: { apiKey: true }, config: { baseUrl: true, headerName: true, headerTemplate: true, verifyPath: false } },
  'kustomer': { credentials: { apiKey: true }, config: { orgSubdomain: true } },
  'messenger': { credentials: { accessToken: true }, config: { pageId: true } },
  'mux': { credentials: { apiKey: true, apiSecret: true }, config: {} },
  'openai': { credentials: { apiKey: true }, config: { organization: false } },
  'quickbooks': { credentials: { accessToken: true, refreshToken: true }, config: { realmId: true } },
  'resend': { credentials: { apiKey: true }, config: { fromAddress: false, fromName: false, replyTo: false } },
  'shopify': { credentials: { accessToken: true, refreshToken: false }, config: { storeDomain: true, apiVersion: false } },
  'slack': { credentials: { accessToken: true }, config: { teamId: false, channel: false } },
  'stripe': { credentials: { apiKey: true, publishableKey: false, webhookSecret: false }, config: {} },
  'unleashed': { credentials: { apiId: true, apiKey: true }, config: {} },
  'wise': { credentials: { apiKey: true, webhookSecret: false }, config: { profileId: true } },
  'xero': { credentials: { accessToken: true, refreshToken: true }, config: { xeroTenantId: true, region: false } },
} as const;

export type ProviderId = keyof typeof PROVIDER_FIELDS;

type Fields<F> = { [K in keyof F as F[K] extends true ? K : never]: string } & { [K in keyof F as F[K] extends true ? never : K]?: string };

/** The plaintext credential fields of a provider's connection, by catalog name. */
export type ProviderCredentials<P extends ProviderId> = Fields<(typeof PROVIDER_FIELDS)[P]['credentials']>;
/** The non-secret config fields of a provider's connection. */
export type ProviderConfig<P extends ProviderId> = Fields<(typeof PROVIDER_FIELDS)[P]['config']>;
