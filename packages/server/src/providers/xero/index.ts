import type { OAuthContext, ProviderAdapter, RateSignal } from '../adapter.js';
import { getJson } from '../shared/http.js';

type XeroConnection = { tenantId?: string; tenantName?: string; tenantType?: string };

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
  },
  rateSignals: xeroRateSignals,
};
