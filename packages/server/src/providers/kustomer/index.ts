import type { ProviderAdapter } from '../adapter.js';
import { kustomerWebhooks } from './webhooks.js';

/** Kustomer is described as data (a bearer API key, the org's subdomain) except for its webhook signatures. */
export const kustomer: ProviderAdapter = { id: 'kustomer', webhooks: kustomerWebhooks };
