/** `@keyhold/sdk/openai`: the official OpenAI client with the tenant's own key. */
import OpenAI, { type ClientOptions } from 'openai';
import { tenantClients } from './tenant-clients.js';

const openai = tenantClients('openai', (c, o: ClientOptions | undefined) => new OpenAI({ ...o, apiKey: c.credentials.apiKey }));

/** The tenant's OpenAI client, or null when the tenant has not connected OpenAI. */
export const getTenantOpenAIClient = openai.get;
/** The tenant's OpenAI client; throws `IntegrationNotConfigured` when there is none. */
export const requireTenantOpenAIClient = openai.require;
