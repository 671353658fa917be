import type { ProviderAdapter } from '../adapter.js';
import { wiseWebhooks } from './webhooks.js';

/** Wise is described as data (a bearer API token) except for its RSA-signed webhooks. */
export const wise: ProviderAdapter = { id: 'wise', webhooks: wiseWebhooks };
