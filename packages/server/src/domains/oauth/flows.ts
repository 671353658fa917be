import { request } from 'undici';
import { AppError } from '../../platform/errors.js';
import type { OAuthSpec, Provider } from '../catalog/catalog.js';
import { verifyShopifyCallback } from './shopify-hmac.js';
import type { TokenSet } from './oauth-client.js';

/**
 * One provider account the user authorised. `secrets` replaces the token set where the account
 * has its own token (a Facebook Page); `id` is the routing key (unique across tenants).
 */
export type Account = { id: string | null; name: string; config: Record<string, string>; secrets?: Record<string, string>; neverExpires?: boolean };

export type FlowContext = {
  provider: Provider;
  /** Non-secret inputs from the authorize call (e.g. the Shopify store domain). */
  params: Record<string, string>;
  app: { clientId: string; clientSecret: string; applicationId?: string };
  now: Date;
};

/** Provider-specific steps around the standard authorization code flow. */
export type Flow = {
  /** Adjusts the authorize URL (Amazon's consent page takes `application_id`). */
  authorizeUrl?(url: URL, ctx: FlowContext): void;
  /** Checks the callback beyond state (Shopify's HMAC) and returns it in RFC 6749 form. */
  callback?(query: Record<string, string>, ctx: FlowContext): URLSearchParams;
  /** Which provider account(s) the tokens give access to. */
  accounts(tokens: TokenSet, query: Record<string, string>, ctx: FlowContext): Promise<Account[]>;
};

const SHOP_DOMAIN = /^[a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com$/;
export const isShopDomain = (v: string) => SHOP_DOMAIN.test(v);

const callbackInvalid = (msg: string) => new AppError('OAUTH_CALLBACK_INVALID', msg);

async function getJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const res = await request(url, { headers: { accept: 'application/json', ...headers }, headersTimeout: 10_000, bodyTimeout: 10_000 }).catch(() => null);
  if (!res || res.statusCode !== 200) {
    await res?.body.dump();
    throw new AppError('OAUTH_EXCHANGE_FAILED', 'The provider did not list the authorised accounts; try connecting again');
  }
  return res.body.json();
}

const standard: Flow = {
  accounts: async (_t, _q, { provider }) => [{ id: null, name: provider.displayName, config: {} }],
};

export const FLOWS: Record<NonNullable<OAuthSpec['flow']>, Flow> = {
  standard,
  xero: {
    // Xero: the token is for the user; GET /connections lists the organisations they authorised.
    async accounts(tokens, _q, { provider }) {
      const list = (await getJson(`${provider.baseUrl}/connections`, { authorization: `Bearer ${tokens.accessToken}` })) as Array<{ tenantId?: string; tenantName?: string; tenantType?: string }>;
      return (Array.isArray(list) ? list : [])
        .filter((c) => typeof c.tenantId === 'string' && (c.tenantType ?? 'ORGANISATION') === 'ORGANISATION')
        .map((c) => ({ id: c.tenantId!, name: c.tenantName ?? c.tenantId!, config: { xeroTenantId: c.tenantId! } }));
    },
  },
  quickbooks: {
    async accounts(_t, query) {
      const realmId = query.realmId ?? '';
      if (!/^[0-9]{1,32}$/.test(realmId)) throw callbackInvalid('QuickBooks did not say which company was connected (realmId)');
      return [{ id: realmId, name: `QuickBooks company ${realmId}`, config: { realmId } }];
    },
  },
  shopify: {
    callback(query, { app, params, now }) {
      if (query.shop !== params.storeDomain) throw callbackInvalid('The callback is for a different store than the one being connected');
      if (!verifyShopifyCallback(query, app.clientSecret, now)) throw callbackInvalid('The Shopify callback signature (hmac) is missing, wrong or too old');
      return new URLSearchParams(query);
    },
    accounts: async (tokens, _q, { params }) => [
      { id: params.storeDomain!.toLowerCase(), name: params.storeDomain!, config: { storeDomain: params.storeDomain! }, neverExpires: tokens.expiresIn === undefined },
    ],
  },
  amazon_lwa: {
    authorizeUrl(url, { app }) {
      // Seller Central's consent page names the app by its application id; `version=beta` lets
      // an app still in draft be authorised.
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
    async accounts(_t, query, { params }) {
      const id = query.selling_partner_id ?? '';
      if (!/^[A-Z0-9]{8,20}$/.test(id)) throw callbackInvalid('Amazon did not say which selling partner authorised the app');
      return [{ id, name: `Selling partner ${id}`, config: { sellingPartnerId: id, marketplaceId: params.marketplaceId ?? 'ATVPDKIKX0DER', region: params.region ?? 'na' } }];
    },
  },
  slack: {
    // oauth.v2.access names the workspace the bot token is for.
    async accounts(tokens) {
      if (!tokens.team) throw new AppError('OAUTH_EXCHANGE_FAILED', 'Slack did not say which workspace was connected; try again');
      return [{ id: tokens.team.id, name: tokens.team.name, config: { teamId: tokens.team.id }, neverExpires: tokens.expiresIn === undefined }];
    },
  },
  messenger: {
    // The user token lists the Pages the user manages; each Page has its own (non-expiring) token.
    async accounts(tokens, _q, { provider }) {
      const version = /\/(v\d+\.\d+)\//.exec(provider.verify?.path ?? '')?.[1] ?? 'v21.0';
      const body = (await getJson(`${provider.baseUrl}/${version}/me/accounts`, { authorization: `Bearer ${tokens.accessToken}` })) as { data?: Array<{ id?: string; name?: string; access_token?: string }> };
      return (body.data ?? [])
        .filter((p) => typeof p.id === 'string' && typeof p.access_token === 'string')
        .map((p) => ({ id: p.id!, name: p.name ?? p.id!, config: { pageId: p.id! }, secrets: { accessToken: p.access_token! }, neverExpires: true }));
    },
  },
};

export const flowFor = (provider: Provider): Flow => FLOWS[provider.oauth?.flow ?? 'standard'];
