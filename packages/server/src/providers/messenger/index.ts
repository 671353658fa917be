import type { ProviderAdapter } from '../adapter.js';
import { getJson } from '../shared/http.js';

type Page = { id?: string; name?: string; access_token?: string };

/**
 * The user token lists the Pages the user manages (`/me/accounts`), each with its own Page token,
 * which is what the connection keeps; a Page token got from a long-lived user token does not expire.
 * https://developers.facebook.com/docs/graph-api/reference/user/accounts
 * https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
 */
export const messenger: ProviderAdapter = {
  id: 'messenger',
  oauth: {
    flow: 'messenger',
    async accounts({ tokens }, { provider, http }) {
      // The Graph API version the catalog's verify request uses.
      const version = /\/(v\d+\.\d+)\//.exec(provider.verify?.path ?? '')?.[1] ?? 'v21.0';
      const body = (await getJson(http, `${provider.baseUrl}/${version}/me/accounts`, tokens.accessToken)) as { data?: Page[] };
      return (body.data ?? [])
        .filter((p) => typeof p.id === 'string' && typeof p.access_token === 'string')
        .map((p) => ({ id: p.id!, name: p.name ?? p.id!, config: { pageId: p.id! }, secrets: { accessToken: p.access_token! }, neverExpires: true }));
    },
  },
};
