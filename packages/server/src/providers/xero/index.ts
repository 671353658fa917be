import type { OAuthContext, ProviderAdapter, RateSignal, ReleaseRequest } from '../adapter.js';
import { getJson } from '../shared/http.js';
import { xeroInvoices } from './syncs.js';
import { xeroWebhooks } from './webhooks.js';

type XeroConnection = { id?: string; tenantId?: string; tenantName?: string; tenantType?: string };

/**
 * The token is the user's; GET /connections lists the tenants they authorised, and only
 * organisations (not practices) are API accounts.
 * https://developer.xero.com/documentation/guides/oauth2/auth-flow/#5-check-the-tenants-youre-authorized-to-access
 */
async function organisations(http: OAuthContext['http'], accessToken: string, baseUrl: string) {
  const list = (await getJson(http, `${baseUrl}/connections`, accessToken)) as XeroConnection[];
  return (Array.isArray(list) ? list : [])
    .filter((c) => typeof c.tenantId === 'string' && (c.tenantType ?? 'ORGANISATION') === 'ORGANISATION')
    .map((c) => ({ id: c.tenantId!, name: c.tenantName ?? c.tenantId!, config: { xeroTenantId: c.tenantId! } }));
}

/**
 * A Xero grant is the user's and can reach several organisations (and revoking a refresh token
 * removes all of the user's connections to the app: https://github.com/XeroAPI/xero-node/releases/tag/4.10.1),
 * so disconnecting one organisation deletes only its connection
 * (DELETE /connections/{id}: https://developer.xero.com/documentation/guides/oauth2/auth-flow/#removing-connections ,
 * https://github.com/XeroAPI/Xero-OpenAPI/blob/master/xero-identity.yaml), and revokes the grant
 * only when the token then reaches no organisation at all. Every removed connection also frees a
 * place under the app's connection limit (https://developer.xero.com/faq/pricing-and-policy-updates).
 */
async function release({ provider, config, accessToken, http, revokeGrant }: ReleaseRequest): Promise<void> {
  const list = (await getJson(http, `${provider.baseUrl}/connections`, accessToken)) as XeroConnection[];
  const connections = Array.isArray(list) ? list : [];
  const mine = connections.find((c) => c.tenantId === config.xeroTenantId);
  if (mine?.id) {
    const res = await http.request(`${provider.baseUrl}/connections/${encodeURIComponent(mine.id)}`, { method: 'DELETE', headers: { authorization: `Bearer ${accessToken}` } });
    await res.body.dump();
    // 404: already gone (the user removed the app from the organisation).
    if (res.statusCode !== 204 && res.statusCode !== 404) throw new Error(`DELETE /connections answered ${res.statusCode}`);
  }
  if (connections.every((c) => c === mine)) await revokeGrant();
}

/**
 * Every answer carries the calls left this minute and today for the organisation.
 * https://developer.xero.com/documentation/guides/oauth2/limits/#api-rate-limits
 */
export function xeroRateSignals(header: (name: string) => string | undefined): RateSignal[] {
  const out: RateSignal[] = [];
  for (const [name, bucket] of [['x-minlimit-remaining', 'minute'], ['x-daylimit-remaining', 'day']] as const) {
    const raw = header(name);
    const remaining = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
    if (Number.isFinite(remaining)) out.push({ bucket, remaining });
  }
  return out;
}

export const xero: ProviderAdapter = {
  id: 'xero',
  oauth: {
    flow: 'xero',
    accounts: ({ tokens }, { provider, http }) => organisations(http, tokens.accessToken, provider.baseUrl),
    release,
  },
  rateSignals: xeroRateSignals,
  webhooks: xeroWebhooks,
  syncs: { invoices: xeroInvoices },
};
