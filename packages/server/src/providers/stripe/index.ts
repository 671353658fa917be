import type { ProviderAdapter } from '../adapter.js';
import { stripeWebhooks } from './webhooks.js';

export const stripe: ProviderAdapter = { id: 'stripe', webhooks: stripeWebhooks };
