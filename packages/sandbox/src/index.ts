export { createSandbox, type Failure, type Sandbox } from './server.js';
export { unleashedSignature } from './unleashed.js';
export {
  type AccountIds, type MintedGrant, type OAuthApp, type OAuthProvider, type OAuthStats, type ProviderConfig, type SandboxOAuth,
  shopifyCallbackHmac,
} from './oauth/index.js';
export type { SandboxRequest } from './server.js';
export type { LimitSettings } from './limits.js';
export type { GraphqlLimits } from './shopify/graphql.js';
export { shopifyWebhookDelivery, type ShopifyDeliveryInput } from './webhooks/shopify.js';
export { stripeWebhookDelivery, type StripeDeliveryInput } from './webhooks/stripe.js';
