import type { ActionDefinition, ProviderAdapter, RevokeHook } from '../adapter.js';
import { callbackInvalid } from '../shared/http.js';
import { exchangeRateAction } from './actions.js';
import { quickbooksBills, quickbooksInvoices } from './syncs.js';
import { quickbooksWebhooks } from './webhooks.js';

/**
 * The callback names the company in `realmId`.
 * https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#step-6-exchange-the-authorization-code-for-access-tokens
 */
function company(query: Record<string, string>) {
  const realmId = query.realmId ?? '';
  if (!/^[0-9]{1,32}$/.test(realmId)) throw callbackInvalid('QuickBooks did not say which company was connected (realmId)');
  return [{ id: realmId, name: `QuickBooks company ${realmId}`, config: { realmId } }];
}

/**
 * Intuit's revocation endpoint takes `{"token": …}` as JSON with HTTP Basic client auth, not
 * RFC 7009's form body.
 * https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#revoke-token-disconnect
 */
export const jsonRevoke: RevokeHook = {
  format: 'json',
  async send({ endpoint, token, clientId, clientSecret, timeoutMs, http }) {
    const res = await http.fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      body: JSON.stringify({ token }),
      timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res.status;
  },
};

export const quickbooks: ProviderAdapter = {
  id: 'quickbooks',
  oauth: { flow: 'quickbooks', accounts: async ({ query }) => company(query) },
  revoke: jsonRevoke,
  webhooks: quickbooksWebhooks,
  actions: { exchangerate: exchangeRateAction as ActionDefinition },
  syncs: { invoices: quickbooksInvoices, bills: quickbooksBills },
};
