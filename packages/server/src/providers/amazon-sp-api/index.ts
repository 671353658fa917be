import type { ProviderAdapter } from '../adapter.js';
import { callbackInvalid } from '../shared/http.js';

/**
 * Website authorization workflow: Seller Central's consent page names the app by its
 * `application_id` (not `client_id`), and `version=beta` lets an app still in draft be authorised;
 * the callback brings `spapi_oauth_code` (the code) and `selling_partner_id`.
 * https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow
 */
export const amazonSpApi: ProviderAdapter = {
  id: 'amazon-sp-api',
  oauth: {
    flow: 'amazon_lwa',
    authorizeParams: ({ region, marketplaceId }) => ({ ...(region ? { region } : {}), ...(marketplaceId ? { marketplaceId } : {}) }),
    authorizeUrl(url, { app }) {
      url.searchParams.delete('client_id');
      url.searchParams.set('application_id', app.applicationId ?? app.clientId);
      url.searchParams.set('version', 'beta');
    },
    callback(query) {
      const p = new URLSearchParams(query);
      if (query.spapi_oauth_code) p.set('code', query.spapi_oauth_code);
      p.delete('spapi_oauth_code');
      return p;
    },
    async accounts({ query }, { params }) {
      const id = query.selling_partner_id ?? '';
      if (!/^[A-Z0-9]{8,20}$/.test(id)) throw callbackInvalid('Amazon did not say which selling partner authorised the app');
      return [{ id, name: `Selling partner ${id}`, config: { sellingPartnerId: id, marketplaceId: params.marketplaceId ?? 'ATVPDKIKX0DER', region: params.region ?? 'na' } }];
    },
  },
};
