export { createSandbox, type Failure, type Sandbox } from './server.js';
export { unleashedSignature } from './unleashed.js';
export type { ReceivedDelivery, ReceiverAnswer, WebhookReceiver } from './webhook-receiver.js';
export {
  type AccountIds, type MintedGrant, type OAuthApp, type OAuthProvider, type OAuthStats, type ProviderConfig, type SandboxOAuth,
  shopifyCallbackHmac,
} from './oauth/index.js';
export type { SandboxRequest } from './server.js';
export type { CapturedEmail, CapturedPost } from './captures.js';
export type { LimitSettings } from './limits.js';
export type { GraphqlLimits } from './shopify/graphql.js';
export { muxDelivery, type MuxEvent } from './webhooks/mux.js';
export { resendDelivery, type ResendEvent } from './webhooks/resend.js';
export { kustomerDelivery, type KustomerEvent } from './webhooks/kustomer.js';
export { wiseDelivery, wiseWebhookKeyPair, type WiseEvent } from './webhooks/wise.js';
export { assemblyaiDelivery } from './webhooks/assemblyai.js';
export { unleashedDelivery, type UnleashedEvent } from './webhooks/unleashed.js';
export { customDelivery, type CustomSigning } from './webhooks/custom.js';
export { standardWebhookHeaders } from './webhooks/standard-webhooks.js';
export * from './webhooks/xero.js';
export * from './webhooks/quickbooks.js';
export * from './webhooks/messenger.js';
export * from './webhooks/slack.js';
export { shopifyWebhookDelivery, type ShopifyDeliveryInput } from './webhooks/shopify.js';
export { stripeWebhookDelivery, type StripeDeliveryInput } from './webhooks/stripe.js';
