import type { ProviderAdapter } from '../adapter.js';
import { customWebhooks } from './webhooks.js';

/**
 * An API the tenant defines itself: its base URL, the header carrying the key (name and value
 * template over `{{apiKey}}`) and the verify path are the tenant's own config. The base URL is a
 * tenant-supplied URL, so it goes through the SSRF guard and the pinned dispatcher.
 */
export const custom: ProviderAdapter = {
  id: 'custom',
  request: {
    authMode: 'custom',
    tenantBaseUrl: { field: 'baseUrl' },
    inject: ({ config, secrets }, fill) => ({
      [(config.headerName ?? 'authorization').toLowerCase()]: fill(config.headerTemplate ?? '{{apiKey}}', { apiKey: secrets.apiKey ?? '' }),
    }),
    // Without a verify path there is nothing to verify: many APIs answer `/` whatever the key.
    verify: ({ config }) => (config.verifyPath ? { method: 'GET', path: config.verifyPath, expectStatus: [200] } : undefined),
  },
  webhooks: customWebhooks,
};
