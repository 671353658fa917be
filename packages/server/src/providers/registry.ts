import type { ProviderAdapter } from './adapter.js';
import { amazonSpApi } from './amazon-sp-api/index.js';
import { anthropic } from './anthropic/index.js';
import { assemblyai } from './assemblyai/index.js';
import { custom } from './custom/index.js';
import { kustomer } from './kustomer/index.js';
import { messenger } from './messenger/index.js';
import { mux } from './mux/index.js';
import { openai } from './openai/index.js';
import { quickbooks } from './quickbooks/index.js';
import { resend } from './resend/index.js';
import { shopify } from './shopify/index.js';
import { slack } from './slack/index.js';
import { stripe } from './stripe/index.js';
import { unleashed } from './unleashed/index.js';
import { wise } from './wise/index.js';
import { xero } from './xero/index.js';

/** Catalog id → adapter, for the providers that need code. Add a provider's adapter here. */
export const ADAPTERS: ReadonlyMap<string, ProviderAdapter> = new Map(
  [amazonSpApi, anthropic, assemblyai, custom, kustomer, messenger, mux, openai, quickbooks, resend, shopify, slack, stripe, unleashed, wise, xero].map((a) => [a.id, a]),
);

/** The provider's adapter; a provider the catalog describes fully as data gets one with no hooks. */
export const adapterFor = (provider: { id: string }): ProviderAdapter => ADAPTERS.get(provider.id) ?? { id: provider.id };
