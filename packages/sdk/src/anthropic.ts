/** `@keyhold/sdk/anthropic`: the official Anthropic client with the tenant's own key, at the Anthropic API this Keyhold is configured with. */
import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk';
import { tenantClients } from './tenant-clients.js';

const anthropic = tenantClients('anthropic', (c, o: ClientOptions | undefined) => new Anthropic({ ...(c.baseUrl ? { baseURL: c.baseUrl } : {}), ...o, apiKey: c.credentials.apiKey }));

/** The tenant's Anthropic client, or null when the tenant has not connected Anthropic. */
export const getTenantAnthropicClient = anthropic.get;
/** The tenant's Anthropic client; throws `IntegrationNotConfigured` when there is none. */
export const requireTenantAnthropicClient = anthropic.require;
