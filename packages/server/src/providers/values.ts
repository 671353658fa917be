/**
 * The catalog values that select provider code (an adapter in providers/<id>/). They live here,
 * with the adapters, so that no generic domain names a provider; the catalog schema reads them
 * and the start-time check (check.ts) proves each has an implementation.
 */
export const AUTH_MODES = ['oauth2', 'api_key', 'basic', 'hmac_unleashed', 'lwa_oauth2', 'custom'] as const;
/** Request-signing schemes beyond header templates and HTTP Basic. */
export const INJECT_SCHEMES = ['unleashed_hmac'] as const;
/** Provider-specific steps around the standard authorization code flow. */
export const OAUTH_FLOWS = ['standard', 'xero', 'quickbooks', 'shopify', 'amazon_lwa', 'messenger', 'slack'] as const;
export const REVOKE_FORMATS = ['form', 'json', 'slack'] as const;
/** Inbound webhook signature schemes the catalog uses. */
export const WEBHOOK_SCHEMES = [
  'xero_hmac_base64', 'intuit_hmac_base64', 'shopify_hmac_base64', 'stripe_signature', 'meta_hub_sha256', 'slack_v0',
  'mux_signature', 'svix', 'kustomer_hmac', 'wise_rsa_sha256', 'assemblyai_header', 'unleashed_hmac', 'custom_hmac',
] as const;
