import { AppError } from '../../platform/errors.js';
import type { AuthorizeInputs, ProviderAdapter } from '../adapter.js';
import { callbackInvalid } from '../shared/http.js';
import { DEFAULT_MARKETPLACE, MARKETPLACES, isSellerCentralHost } from './marketplaces.js';
import { amazonFbaInventory } from './syncs.js';

/**
 * The marketplace decides both where the seller consents (its Seller Central) and which
 * regional SP-API endpoint serves the connection (the catalog's base URL takes `{{region}}`).
 * A region alone is enough only for North America (the US marketplace, as before); in Europe
 * and the Far East the consent page differs by marketplace, so the marketplace is required.
 */
function marketplaceParams({ region, marketplaceId }: AuthorizeInputs): Record<string, string> {
  if (!marketplaceId) {
    if (region && region !== 'na') throw new AppError('VALIDATION_FAILED', `marketplaceId: required to connect a seller in region '${region}' (Amazon's consent page is per marketplace)`);
    return { region: 'na', marketplaceId: DEFAULT_MARKETPLACE };
  }
  const m = MARKETPLACES[marketplaceId];
  if (!m) throw new AppError('VALIDATION_FAILED', 'marketplaceId: not an Amazon marketplace id (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids)');
  if (region && region !== m.region) throw new AppError('VALIDATION_FAILED', `region: marketplace ${marketplaceId} (${m.country}) is in region '${m.region}', not '${region}'`);
  return { region: m.region, marketplaceId };
}

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
    authorizeParams: marketplaceParams,
    authorizeUrl(url, { app, params }) {
      url.searchParams.delete('client_id');
      url.searchParams.set('application_id', app.applicationId ?? app.clientId);
      url.searchParams.set('version', 'beta');
      // The consent page is the Seller Central of the seller's marketplace (marketplaces.ts).
      const m = MARKETPLACES[params.marketplaceId ?? DEFAULT_MARKETPLACE];
      if (m && isSellerCentralHost(url.hostname)) url.hostname = m.sellerCentral;
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
      return [{ id, name: `Selling partner ${id}`, config: { sellingPartnerId: id, marketplaceId: params.marketplaceId ?? DEFAULT_MARKETPLACE, region: params.region ?? 'na' } }];
    },
  },
  syncs: { fba_inventory: amazonFbaInventory },
};
