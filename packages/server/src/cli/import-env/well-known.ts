/**
 * The variables single-tenant apps commonly keep their provider credentials in, by catalog
 * provider and catalog field (the first variable present wins). This is data: adding a provider
 * or an alias is one line here, and the credentials service validates what it maps to.
 */
export type EnvImport = {
  provider: string;
  fields: Record<string, string[]>;
  /**
   * The platform's own app credentials at that provider (OAuth client id/secret): not a tenant's,
   * so never imported as a connection; the report says where they go instead.
   */
  appVariables?: string[];
};

export const WELL_KNOWN_VARIABLES: EnvImport[] = [
  {
    provider: 'stripe',
    fields: { apiKey: ['STRIPE_SECRET_KEY', 'STRIPE_API_KEY'], publishableKey: ['STRIPE_PUBLISHABLE_KEY', 'NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY'], webhookSecret: ['STRIPE_WEBHOOK_SECRET'] },
  },
  {
    provider: 'resend',
    fields: { apiKey: ['RESEND_API_KEY'], webhookSecret: ['RESEND_WEBHOOK_SECRET'], fromAddress: ['RESEND_FROM', 'RESEND_FROM_EMAIL'] },
  },
  { provider: 'openai', fields: { apiKey: ['OPENAI_API_KEY'], organization: ['OPENAI_ORG_ID', 'OPENAI_ORGANIZATION'] } },
  { provider: 'anthropic', fields: { apiKey: ['ANTHROPIC_API_KEY'] } },
  {
    provider: 'shopify',
    fields: {
      accessToken: ['SHOPIFY_ACCESS_TOKEN', 'SHOPIFY_ADMIN_API_ACCESS_TOKEN', 'SHOPIFY_ADMIN_ACCESS_TOKEN'],
      refreshToken: ['SHOPIFY_REFRESH_TOKEN'],
      storeDomain: ['SHOPIFY_STORE_DOMAIN', 'SHOPIFY_SHOP_DOMAIN', 'SHOPIFY_SHOP'],
      apiVersion: ['SHOPIFY_API_VERSION'],
    },
    appVariables: ['SHOPIFY_API_KEY', 'SHOPIFY_API_SECRET', 'SHOPIFY_CLIENT_ID', 'SHOPIFY_CLIENT_SECRET'],
  },
  { provider: 'unleashed', fields: { apiId: ['UNLEASHED_API_ID'], apiKey: ['UNLEASHED_API_KEY'], currency: ['UNLEASHED_CURRENCY'] } },
  {
    provider: 'amazon-sp-api',
    fields: {
      accessToken: ['AMAZON_ACCESS_TOKEN', 'AMAZON_SP_API_ACCESS_TOKEN', 'SP_API_ACCESS_TOKEN'],
      refreshToken: ['AMAZON_REFRESH_TOKEN', 'AMAZON_SP_API_REFRESH_TOKEN', 'SP_API_REFRESH_TOKEN', 'LWA_REFRESH_TOKEN'],
      sellingPartnerId: ['AMAZON_SELLING_PARTNER_ID', 'AMAZON_SELLER_ID'],
      marketplaceId: ['AMAZON_MARKETPLACE_ID', 'SP_API_MARKETPLACE_ID'],
      region: ['AMAZON_REGION', 'SP_API_REGION'],
    },
    appVariables: ['AMAZON_CLIENT_ID', 'AMAZON_CLIENT_SECRET', 'AMAZON_LWA_CLIENT_ID', 'AMAZON_LWA_CLIENT_SECRET', 'LWA_CLIENT_ID', 'LWA_CLIENT_SECRET'],
  },
  {
    provider: 'xero',
    fields: { accessToken: ['XERO_ACCESS_TOKEN'], refreshToken: ['XERO_REFRESH_TOKEN'], xeroTenantId: ['XERO_TENANT_ID'], region: ['XERO_REGION'] },
    appVariables: ['XERO_CLIENT_ID', 'XERO_CLIENT_SECRET'],
  },
  {
    provider: 'quickbooks',
    fields: { accessToken: ['QUICKBOOKS_ACCESS_TOKEN', 'QBO_ACCESS_TOKEN'], refreshToken: ['QUICKBOOKS_REFRESH_TOKEN', 'QBO_REFRESH_TOKEN'], realmId: ['QUICKBOOKS_REALM_ID', 'QBO_REALM_ID'] },
    appVariables: ['QUICKBOOKS_CLIENT_ID', 'QUICKBOOKS_CLIENT_SECRET', 'QBO_CLIENT_ID', 'QBO_CLIENT_SECRET'],
  },
];
