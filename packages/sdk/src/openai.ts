/** `@keyhold/sdk/openai`: the official OpenAI client with the tenant's own key, at the OpenAI API this Keyhold is configured with. */
import OpenAI, { type ClientOptions } from 'openai';
import { tenantClients } from './tenant-clients.js';

// Keyhold's base URL is the API's origin; the OpenAI client's includes the `/v1` version prefix.
const openai = tenantClients('openai', (c, o: ClientOptions | undefined) => new OpenAI({ ...(c.baseUrl ? { baseURL: `${c.baseUrl}/v1` } : {}), ...o, apiKey: c.credentials.apiKey }));

/** The tenant's OpenAI client, or null when the tenant has not connected OpenAI. */
export const getTenantOpenAIClient = openai.get;
/** The tenant's OpenAI client; throws `IntegrationNotConfigured` when there is none. */
export const requireTenantOpenAIClient = openai.require;
