import { timingSafeEqual } from 'node:crypto';
import { shopifyCallbackHmac } from '../shopify/callback.js';
import { TOKEN_EXCHANGE, migrateToExpiring } from '../shopify/tokens.js';
import type { IncomingMessage } from 'node:http';
import type { Reply } from '../providers.js';
import { type OAuthProvider, accountIds, randomAccount } from './ids.js';
import { NO_STORE, basicCredentials, bodyParams, header, json, oauthError, redirect } from './http.js';
import { SPECS } from './specs.js';
import { slackScopeProblem, slackTokenBody } from '../slack/web-api.js';
import { refusedXeroScopes } from '../xero/scopes.js';
import { xeroIdToken } from '../xero/openid.js';
import type { Issued, OAuthApp, OAuthState } from './state.js';
import { exchangeForLongLived } from '../messenger/graph.js';
import { intuitTokenBody } from '../quickbooks/tokens.js';

export type RouteContext = { provider: OAuthProvider; path: string; store?: string; /** Amazon: the regional endpoint or Seller Central region. */ region?: string; req: IncomingMessage; url: URL; body: string; now: number };

const MAX_COUNT = 100;
const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export { shopifyCallbackHmac } from '../shopify/callback.js';

/** A consent page that cannot redirect (unknown app, unregistered redirect_uri) shows an error instead. */
const authorizePageError = (description: string, error = 'invalid_request'): Reply => json(400, { error, error_description: description });

export function authorize(state: OAuthState, ctx: RouteContext): Reply {
  const { provider, url, store, now } = ctx;
  const spec = SPECS[provider];
  const q = Object.fromEntries(url.searchParams);
  state.lastAuthorize.set(provider, q);
  const app = state.appForAuthorize(provider, q[spec.clientIdParam] ?? '');
  if (!app) return authorizePageError(`Unknown ${spec.clientIdParam}`, 'invalid_client');
  // Seller Central takes the app's first registered redirect URI when none is given (website
  // authorization workflow, "redirect_uri … Optional"): https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow
  const redirectUri = q.redirect_uri ?? (provider === 'amazon-sp-api' ? app.redirectUri : undefined);
  if (redirectUri !== app.redirectUri) return authorizePageError('redirect_uri is not one registered for this app');
  if (spec.pkce && q.code_challenge !== undefined) {
    if (q.code_challenge_method !== 'S256') return authorizePageError('code_challenge_method must be S256');
    if (!/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) return authorizePageError('code_challenge is not a base64url SHA-256 digest');
  }
  const back = (params: Record<string, string | undefined>) => redirect(app.redirectUri, { ...params, state: q.state }, provider === 'messenger' ? '#_=_' : '');
  if (spec.strictAuthorize) {
    if (q.response_type !== 'code') return back({ error: 'unsupported_response_type', error_description: 'response_type must be code' });
    if (!q.scope) return back({ error: 'invalid_scope', error_description: 'scope is required' });
  }
  // Xero refuses scopes the app may not request on its own error page, not by redirecting back.
  if (provider === 'xero' && refusedXeroScopes(q.scope ?? '', app).length) return authorizePageError('Invalid scope for client', 'unauthorized_client');
  if (q.sandbox_deny === '1') return back({ error: 'access_denied', error_description: 'The user denied the request' });
  const scopeProblem = provider === 'slack' ? slackScopeProblem(q.scope) : null;
  if (scopeProblem) return back({ error: 'invalid_scope', error_description: scopeProblem });

  const account = store ?? q.sandbox_account ?? randomAccount();
  const count = Math.min(MAX_COUNT, Math.max(1, Number.parseInt(q.sandbox_count ?? '1', 10) || 1));
  const scope = q.scope ?? spec.defaultScope;
  const code = state.createCode({
    provider, clientId: app.clientId, redirectUri: app.redirectUri, account, count, scope,
    ...(spec.pkce && q.code_challenge ? { challenge: q.code_challenge } : {}),
    ...(store ? { store } : {}),
    // Slack: `sandbox_enterprise=1` installs the app on a whole Enterprise Grid organisation.
    ...(provider === 'slack' && q.sandbox_enterprise === '1' ? { enterprise: true } : {}),
    // Amazon authorizations are regional: the Seller Central region the seller consented in.
    ...(provider === 'amazon-sp-api' ? { region: ctx.region ?? 'na' } : {}),
  }, now);
  switch (provider) {
    case 'quickbooks':
      return back({ code, realmId: accountIds(provider, account).realmId });
    case 'amazon-sp-api':
      return back({ spapi_oauth_code: code, selling_partner_id: accountIds(provider, account).sellingPartnerId });
    case 'shopify': {
      const params: Record<string, string> = {
        code, host: Buffer.from(`${store}/admin`).toString('base64url'), shop: store!, timestamp: String(Math.floor(now / 1000)),
        ...(q.state !== undefined ? { state: q.state } : {}),
      };
      return redirect(app.redirectUri, { ...params, hmac: shopifyCallbackHmac(params, app.clientSecret) });
    }
    default:
      return back({ code });
  }
}

/** The calling app, authenticated the provider's way; null when that fails (→ invalid_client). */
function authenticate(state: OAuthState, provider: OAuthProvider, req: IncomingMessage, params: Record<string, string>): OAuthApp | null {
  if (SPECS[provider].clientAuth === 'basic') {
    for (const c of basicCredentials(req)) {
      const app = state.app(provider, c.id);
      if (app && same(app.clientSecret, c.secret)) return app;
    }
    return null;
  }
  const app = state.app(provider, params.client_id ?? '');
  return app && same(app.clientSecret, params.client_secret ?? '') ? app : null;
}

/** Facebook answers token errors in Graph's shape; everyone else in RFC 6749's. */
function tokenError(provider: OAuthProvider, status: number, error: string, description: string): Reply {
  // Slack: HTTP 200, `ok: false` and its own error names.
  if (SPECS[provider].okEnvelope) return json(200, { ok: false, error: error === 'invalid_grant' ? 'invalid_code' : error }, NO_STORE);
  if (!SPECS[provider].graphErrors) return oauthError(status, error, description);
  const code = error === 'invalid_client' ? 1 : 100;
  return json(status, { error: { message: description, type: 'OAuthException', code, fbtrace_id: 'sandbox' } }, NO_STORE);
}

function tokenReply(provider: OAuthProvider, t: Issued, req: IncomingMessage, now: number): Reply {
  const g = t.grant;
  const body: Record<string, unknown> = (() => {
    switch (provider) {
      case 'xero': {
        const idToken = g.scope.split(' ').includes('openid') ? { id_token: xeroIdToken({ clientId: g.clientId, account: g.account, accessToken: t.accessToken, scope: g.scope, authTime: g.createdAt, now: Date.now() }) } : {};
        return { ...idToken, access_token: t.accessToken, expires_in: t.expiresIn, token_type: 'Bearer', ...(t.refreshToken ? { refresh_token: t.refreshToken } : {}), scope: g.scope };
      }
      case 'quickbooks':
        return intuitTokenBody(t, now, header(req, 'x-include-refresh-token-hard-expires-in') === 'true');
      case 'shopify':
        // Shopify's non-expiring offline token has neither token_type nor expires_in.
        return g.expiring
          ? { access_token: t.accessToken, expires_in: t.expiresIn, refresh_token: t.refreshToken, refresh_token_expires_in: SPECS.shopify.refreshTokenTtlSeconds, scope: g.scope }
          : { access_token: t.accessToken, scope: g.scope };
      case 'amazon-sp-api':
        return { access_token: t.accessToken, refresh_token: t.refreshToken, token_type: 'bearer', expires_in: t.expiresIn };
      case 'messenger':
        return { access_token: t.accessToken, token_type: 'bearer', expires_in: t.expiresIn };
      case 'slack':
        return slackTokenBody(t);
    }
  })();
  return json(200, body, NO_STORE);
}

export function token(state: OAuthState, ctx: RouteContext): Reply {
  const { provider, req, url, store, now } = ctx;
  const spec = SPECS[provider];
  // Facebook takes its parameters in the query (GET or POST); Shopify in a JSON or form body.
  const params = { ...(provider === 'messenger' ? Object.fromEntries(url.searchParams) : {}), ...bodyParams(req, ctx.body) };
  const app = authenticate(state, provider, req, params);
  if (!app) return tokenError(provider, 401, 'invalid_client', 'Client authentication failed');
  if (provider === 'messenger' && params.grant_type === 'fb_exchange_token') return exchangeForLongLived(state, app, params, now);
  // Shopify's and Facebook's code exchanges carry no grant_type.
  const grantType = params.grant_type ?? (spec.clientAuth === 'body' && params.code ? 'authorization_code' : undefined);
  let result;
  if (grantType === 'authorization_code') {
    if (!params.code) return tokenError(provider, 400, 'invalid_request', 'code is required');
    // Shopify issues an expiring offline token only when the exchange asks for one (`expiring=1`);
    // without it the token never expires, which public apps can no longer use:
    // https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens
    const expiring = provider === 'shopify' && params.expiring === '1';
    result = state.redeemCode(provider, {
      code: params.code, clientId: app.clientId, expiring,
      ...(params.redirect_uri !== undefined ? { redirectUri: params.redirect_uri } : {}),
      ...(params.code_verifier !== undefined ? { verifier: params.code_verifier } : {}),
      ...(store ? { store } : {}),
    }, now);
    if (expiring && !('error' in result)) state.revokeOtherExpiring(result.grant);
  } else if (grantType === TOKEN_EXCHANGE && provider === 'shopify') {
    result = migrateToExpiring(state, params, app, store, now);
  } else if (grantType === 'refresh_token' && provider !== 'messenger') {
    if (!params.refresh_token) return tokenError(provider, 400, 'invalid_request', 'refresh_token is required');
    result = state.useRefreshToken(provider, { token: params.refresh_token, clientId: app.clientId, ...(store ? { store } : {}) }, now);
  } else {
    return tokenError(provider, 400, grantType ? 'unsupported_grant_type' : 'invalid_request', grantType ? `grant_type ${grantType} is not supported` : 'grant_type is required');
  }
  return 'error' in result ? tokenError(provider, 400, result.error, result.description) : tokenReply(provider, result, req, now);
}

/** Xero takes RFC 7009's form body; Intuit a JSON `{"token"}`. Either way the whole grant goes. */
export function revoke(state: OAuthState, ctx: RouteContext): Reply {
  const { provider, req } = ctx;
  const params = bodyParams(req, ctx.body);
  const app = authenticate(state, provider, req, params);
  if (!app) return oauthError(401, 'invalid_client', 'Client authentication failed');
  if (!params.token) return oauthError(400, 'invalid_request', 'token is required');
  if (state.revokeToken(provider, params.token, app.clientId) === 'other_client') return oauthError(400, 'unauthorized_client', 'The token was issued to another client');
  return { status: 200, body: undefined };
}
