import type { ProviderAdapter } from '../adapter.js';
import { muxWebhooks } from './webhooks.js';

/** Mux is described as data (Basic auth with a token id and secret) except for its webhook signatures. */
export const mux: ProviderAdapter = { id: 'mux', webhooks: muxWebhooks };
