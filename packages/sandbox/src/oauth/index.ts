import type { IncomingMessage } from 'node:http';
import type { Reply } from '../providers.js';
import { createShopifyAdmin } from '../shopify/admin.js';
import { dataRoute } from './data.js';
import { type AccountIds, OAUTH_PROVIDERS, type OAuthProvider, accountIds, isOAuthProvider, randomAccount } from './ids.js';
import { type RouteContext, authorize, revoke, token } from './routes.js';
import { SPECS, type ProviderConfig } from './specs.js';
import { discovery, jwks } from '../xero/openid.js';
import { type OAuthApp, type OAuthStats, createOAuthState } from './state.js';

export type { AccountIds, OAuthApp, OAuthProvider, OAuthStats, ProviderConfig };
export { shopifyCallbackHmac } from './routes.js';

export type MintedGrant = {
  accessToken: string;
  refreshToken?: string;
  /** Absent for tokens that never expire (Shopify's non-expiring offline tokens). */
  expiresIn?: number;
  account: string;
  /** The first (often only) account: organisation, company, selling partner, Page or store. */
  ids: AccountIds;
  /** Every organisation / Page of the grant (`count` of them). */
  accounts: AccountIds[];
};

type Route = { method: string[]; path: string; run: typeof authorize };
const GET = ['GET'];
const POST = ['POST'];

/** The authorization server paths, relative to the provider prefix (Shopify: to its store). */
const ROUTES: Record<OAuthProvider, Route[]> = {
  xero: [
    { method: GET, path: '/identity/connect/authorize', run: authorize },
    { method: POST, path: '/connect/token', run: token },
    { method: POST, path: '/connect/revocation', run: revoke },
    { method: GET, path: '/.well-known/openid-configuration', run: (_s, ctx) => discovery(ctx.req) },
    { method: GET, path: '/.well-known/openid-configuration/jwks', run: () => jwks() },
  ],
  quickbooks: [
    { method: GET, path: '/connect/oauth2', run: authorize },
    { method: POST, path: '/oauth2/v1/tokens/bearer', run: token },
    { method: POST, path: '/v2/oauth2/tokens/revoke', run: revoke },
  ],
  shopify: [
    { method: GET, path: '/admin/oauth/authorize', run: authorize },
    { method: POST, path: '/admin/oauth/access_token', run: token },
  ],
  'amazon-sp-api': [
    { method: GET, path: '/apps/authorize/consent', run: authorize },
    { method: POST, path: '/auth/o2/token', run: token },
  ],
  messenger: [
    { method: GET, path: '/dialog/oauth', run: authorize },
    { method: ['GET', 'POST'], path: '/oauth/access_token', run: token },
  ],
  slack: [
    { method: GET, path: '/oauth/v2/authorize', run: authorize },
    { method: POST, path: '/api/oauth.v2.access', run: token },
    // auth.revoke is a Web API method authenticated by the token itself (slack/web-api.ts).
  ],
};

const STORE = /^\/([a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com)(\/.*)$/;

function need(provider: string): OAuthProvider {
  if (!isOAuthProvider(provider)) throw new Error(`the sandbox has no OAuth server for '${provider}' (it has: ${OAUTH_PROVIDERS.join(', ')})`);
  return provider;
}

/** The sandbox's OAuth authorization servers: `api` is for tests, `handle` for the HTTP server. */
export function createOAuth() {
  const state = createOAuthState();
  const shopifyAdmin = createShopifyAdmin(state);

  /** An OAuth (or OAuth-protected data) reply, or null when the request is not one of them. */
  function handle(provider: string, path: string, req: IncomingMessage, url: URL, body: string, seeded: Array<Record<string, string>>, region?: string): Reply | null {
    if (!isOAuthProvider(provider)) return null;
    let store: string | undefined;
    if (provider === 'shopify') {
      const m = STORE.exec(path);
      if (!m) return null;
      [store, path] = [m[1]!, m[2]!];
    }
    // Graph paths carry an API version; the unversioned form is Graph's default version.
    if (provider === 'messenger') path = path.replace(/^\/v\d+\.\d+(?=\/)/, '');
    const ctx: RouteContext = { provider, path, req, url, body, now: Date.now(), ...(store ? { store } : {}), ...(region ? { region } : {}) };
    const route = ROUTES[provider].find((r) => r.path === path && r.method.includes(req.method ?? 'GET'));
    if (route) return route.run(state, ctx);
    if (provider === 'shopify') return shopifyAdmin.handle(ctx, (t: string) => seeded.some((k) => k.accessToken === t && k.storeDomain === store));
    return dataRoute(state, ctx);
  }

  const api = {
    providers: (): OAuthProvider[] => [...OAUTH_PROVIDERS],
    /** Registers an app (several per provider allowed); authorize checks its redirect URI exactly. */
    registerApp(provider: OAuthProvider, app: OAuthApp) {
      state.registerApp(need(provider), app);
    },
    /** Token lifetimes and rotation grace; defaults are the provider's real ones. */
    configure(provider: OAuthProvider, patch: Partial<ProviderConfig>) {
      state.configure(need(provider), patch);
    },
    config: (provider: OAuthProvider): ProviderConfig => ({ ...state.cfg(need(provider)) }),
    /** The query of the last authorize request for `provider` (to assert PKCE, redirect_uri, scope). */
    lastAuthorizeRequest: (provider: OAuthProvider): Record<string, string> | undefined => {
      const q = state.lastAuthorize.get(need(provider));
      return q && { ...q };
    },
    /** The ids an account consenting as `account` gets (Shopify: `account` is the store domain). */
    accountIds: (provider: OAuthProvider, account: string, index = 0): AccountIds => accountIds(need(provider), account, index),
    /**
     * A grant as if `account` had consented, without the browser flow: for seeding many
     * connections. Defaults to the provider's first registered app and a fresh random account.
     * `accessTokenTtlSeconds` applies to the minted access token only, not to later refreshes.
     */
    mintGrant(provider: OAuthProvider, opts: { account?: string; clientId?: string; accessTokenTtlSeconds?: number; store?: string; count?: number; /** Amazon: the selling region consented in (default na). */ region?: string } = {}): MintedGrant {
      const p = need(provider);
      const clientId = opts.clientId ?? state.firstApp(p)?.clientId;
      if (!clientId) throw new Error(`mintGrant('${p}'): register an app first or pass clientId`);
      if (p === 'shopify' && !opts.store) throw new Error("mintGrant('shopify'): pass the store domain as `store`");
      const store = opts.store?.toLowerCase();
      const account = store ?? opts.account ?? randomAccount();
      const count = Math.max(1, opts.count ?? 1);
      const t = state.createGrant({
        provider: p, clientId, account, count, scope: SPECS[p].defaultScope, expiring: p === 'shopify' && state.cfg(p).shopifyExpiringTokens,
        ...(opts.accessTokenTtlSeconds !== undefined ? { ttlSeconds: opts.accessTokenTtlSeconds } : {}),
        ...(store ? { store } : {}),
        ...(p === 'amazon-sp-api' ? { region: opts.region ?? 'na' } : {}),
      }, Date.now());
      // The TTL shapes the minted token only; refreshed tokens get the provider's configured TTL.
      delete t.grant.ttlSeconds;
      const accounts = Array.from({ length: p === 'xero' || p === 'messenger' ? count : 1 }, (_, i) => ({
        ...accountIds(p, account, i),
        ...(p === 'messenger' ? { pageAccessToken: t.grant.pageTokens[i]! } : {}),
      }));
      return {
        accessToken: t.accessToken, account, ids: accounts[0]!, accounts,
        ...(t.refreshToken ? { refreshToken: t.refreshToken } : {}),
        ...(t.expiresIn !== undefined ? { expiresIn: t.expiresIn } : {}),
      };
    },
    /** Revokes every grant of `provider` (or of one account), as a user disconnecting the app would. */
    revoke(provider: OAuthProvider, opts: { account?: string } = {}) {
      const p = need(provider);
      state.revokeAll(p, p === 'shopify' ? opts.account?.toLowerCase() : opts.account);
    },
    /** Messenger: the webhook fields the app is subscribed to on a Page, if it is. */
    pageSubscription: (pageId: string): string[] | undefined => state.pageSubscriptions.get(pageId),
    /** Messenger: Graph refuses to subscribe the app to this Page (as it does without pages_messaging). */
    refusePageSubscription(pageId: string) {
      state.refusedPageSubscriptions.add(pageId);
    },
    /** Counters per provider since start (or resetStats). Revoked-token uses count as unknown. */
    stats: (): Record<OAuthProvider, OAuthStats> => state.allStats(),
    resetStats: () => state.resetStats(),
  };
  return { handle, api, shopify: shopifyAdmin.api };
}
export type SandboxOAuth = ReturnType<typeof createOAuth>['api'];
