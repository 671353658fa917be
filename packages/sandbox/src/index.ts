export { createSandbox, type Failure, type Sandbox } from './server.js';
export { unleashedSignature } from './unleashed.js';
export {
  type AccountIds, type MintedGrant, type OAuthApp, type OAuthProvider, type OAuthStats, type ProviderConfig, type SandboxOAuth,
  shopifyCallbackHmac,
} from './oauth/index.js';
export type { SandboxRequest } from './server.js';
export type { LimitSettings } from './limits.js';
export type { GraphqlLimits } from './shopify/graphql.js';
export * from './webhooks/xero.js';
export * from './webhooks/quickbooks.js';
export * from './webhooks/messenger.js';
export * from './webhooks/slack.js';
