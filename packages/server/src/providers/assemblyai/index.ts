import type { ProviderAdapter } from '../adapter.js';
import { assemblyaiWebhooks } from './webhooks.js';

/** AssemblyAI is described as data (the bare API key header) except for its webhook header check. */
export const assemblyai: ProviderAdapter = { id: 'assemblyai', webhooks: assemblyaiWebhooks };
