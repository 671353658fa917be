import { inventorySummaries, isRegion, participations } from '../amazon/index.js';
import type { Reply } from '../providers.js';
import { accountIds, messengerUserId, randomUuid } from './ids.js';
import { deleteConnection, listConnections, xeroTenants } from '../xero/connections.js';
import { xeroInvoices, xeroOrganisation } from '../xero/invoices.js';
import { bearer, header, json } from './http.js';
import type { RouteContext } from './routes.js';
import { slackApi } from '../slack/web-api.js';
import type { AccessToken, OAuthState } from './state.js';
import { pageAccounts, subscribeApp } from '../messenger/graph.js';
import { intuitTime, quickbooksQuery } from '../quickbooks/data.js';
import { quickbooksCompanyQuery, quickbooksCompanyRoute } from '../quickbooks/exchange-rates.js';

type Rejection = 'unknown' | 'expired' | 'revoked';

/** Each provider's own reply to a missing, unknown, revoked or expired access token. */
const UNAUTHORIZED: Record<string, (why: Rejection) => Reply> = {
  xero: (why) => json(401, { Type: null, Title: 'Unauthorized', Status: 401, Detail: why === 'expired' ? 'TokenExpired: token expired' : 'AuthenticationUnsuccessful', Instance: randomUuid(), Extensions: {} },
    { 'www-authenticate': `Bearer error="invalid_token"` }),
  quickbooks: () => json(401, { fault: { error: [{ message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401', code: '3200' }], type: 'AUTHENTICATION' } }),
  shopify: () => json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }),
  // SP-API refuses tokens with 403 Unauthorized; `details` says why (the amazon-sp-api client
  // refreshes on /access token.*expired/): https://github.com/amzn/selling-partner-api-models/issues/2333
  'amazon-sp-api': (why) => json(403, { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: why === 'expired' ? 'The access token you provided has expired.' : 'The access token you provided is revoked, malformed or invalid.' }] }),
  messenger: (why) => json(401, { error: graphTokenError(why) }),
};

function graphTokenError(why: Rejection) {
  const message = why === 'expired' ? 'Error validating access token: Session has expired.'
    : why === 'revoked' ? 'Error validating access token: The user has not authorized application.'
      : 'Invalid OAuth access token - Cannot parse access token';
  return { message, type: 'OAuthException', code: 190, ...(why === 'expired' ? { error_subcode: 463 } : why === 'revoked' ? { error_subcode: 458 } : {}), fbtrace_id: 'sandbox' };
}

/**
 * The data (and verify) routes that accept OAuth access tokens (Shopify's: shopify/admin.ts).
 * Null when the path is not one of them.
 */
export function dataRoute(state: OAuthState, ctx: RouteContext): Reply | null {
  const { provider, path, req, url, now } = ctx;
  if (provider === 'slack') return slackApi(state, ctx);
  const messengerSubscribe = provider === 'messenger' && req.method === 'POST' ? /^\/(\d+)\/subscribed_apps$/.exec(path) : null;
  const quickbooksWrite = provider === 'quickbooks' && req.method === 'POST' && /^\/v3\/company\/[0-9]+\/exchangerate$/.test(path);
  if (req.method !== 'GET' && !(provider === 'xero' && req.method === 'DELETE') && !messengerSubscribe && !quickbooksWrite) return null;
  const authorized = (token: string | undefined, check?: (a: AccessToken) => boolean): AccessToken | Reply => {
    const r = state.checkAccess(provider, token, now);
    const why = 'access' in r ? (check && !check(r.access) ? 'unknown' : null) : r.reason;
    if (!why) return (r as { access: AccessToken }).access;
    state.countRejected(provider, why);
    return UNAUTHORIZED[provider]!(why);
  };
  const isReply = (v: AccessToken | Reply): v is Reply => 'status' in v;

  switch (provider) {
    case 'xero': {
      if (path === '/api.xro/2.0/Invoices' && req.method === 'GET') return xeroInvoicesOf(authorized(bearer(req)), isReply, header(req, 'xero-tenant-id'), ctx);
      if (path === '/api.xro/2.0/Organisation' && req.method === 'GET') return xeroOrganisationOf(authorized(bearer(req)), isReply, header(req, 'xero-tenant-id'), ctx);
      const del = /^\/connections\/([^/]+)$/i.exec(path);
      if (del && req.method === 'DELETE') {
        const a = authorized(bearer(req));
        return isReply(a) ? a : deleteConnection(a, del[1]!);
      }
      if (path !== '/connections' || req.method !== 'GET') return null;
      const a = authorized(bearer(req));
      return isReply(a) ? a : listConnections(a);
    }
    case 'quickbooks': {
      const q = /^\/v3\/company\/([0-9]+)\/(query|exchangerate|preferences)$/.exec(path);
      if (q) {
        const a = authorized(bearer(req), (t) => accountIds('quickbooks', t.grant.account).realmId === q[1]);
        if (isReply(a)) return a;
        const query = url.searchParams.get('query') ?? '';
        return q[2] === 'query' ? (quickbooksCompanyQuery(q[1]!, query, now) ?? quickbooksQuery(q[1]!, query, now)) : quickbooksCompanyRoute(q[1]!, q[2]!, req.method ?? 'GET', url, ctx.body, now);
      }
      const m = /^\/v3\/company\/([0-9]+)\/companyinfo\/([0-9]+)$/.exec(path);
      if (!m) return null;
      const realm = m[1]!;
      if (m[2] !== realm) return json(400, { Fault: { Error: [{ Message: 'Object Not Found', code: '610' }], type: 'ValidationFault' } });
      const a = authorized(bearer(req), (t) => accountIds('quickbooks', t.grant.account).realmId === realm);
      if (isReply(a)) return a;
      const ids = accountIds('quickbooks', a.grant.account);
      return json(200, { CompanyInfo: { CompanyName: ids.name, LegalName: ids.name, Country: 'US', Id: realm, SyncToken: '0' }, time: intuitTime(now) });
    }
    case 'amazon-sp-api': {
      if (path !== '/fba/inventory/v1/summaries' && path !== '/sellers/v1/marketplaceParticipations') return null;
      const a = authorized(header(req, 'x-amz-access-token'));
      if (isReply(a)) return a;
      // Authorizations are regional: another region's endpoint does not know the grant.
      const region = isRegion(ctx.region) ? ctx.region : 'na';
      if ((a.grant.region ?? 'na') !== region) return json(403, { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: '' }] });
      return path === '/sellers/v1/marketplaceParticipations' ? json(200, participations(region)) : inventorySummaries(url, now, a.grant.account);
    }
    case 'messenger': {
      const subscribe = messengerSubscribe;
      if (path !== '/me' && path !== '/me/accounts' && !subscribe) return null;
      const token = bearer(req) ?? url.searchParams.get('access_token') ?? undefined;
      const a = authorized(token);
      if (isReply(a)) return a;
      if (subscribe) return subscribeApp(state, a, subscribe[1]!, new URLSearchParams([...url.searchParams, ...new URLSearchParams(ctx.body)]));
      const g = a.grant;
      if (path === '/me/accounts') return pageAccounts(state, a, req, url, token!);
      const page = a.page !== undefined ? accountIds('messenger', g.account, a.page) : undefined;
      const me = page ? { id: page.pageId!, name: page.name } : { id: messengerUserId(g.account), name: `${g.account} user` };
      const fields = (url.searchParams.get('fields') ?? 'id,name').split(',').map((f) => f.trim());
      return json(200, Object.fromEntries(Object.entries(me).filter(([k]) => k === 'id' || fields.includes(k))));
    }
  }
  return null;
}

const xeroForbidden = () => json(403, { Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthorizationUnsuccessful', Instance: randomUuid(), Extensions: {} });
const xeroInsufficientScope = () =>
  json(401, { Type: null, Title: 'Unauthorized', Status: 401, Detail: 'AuthorizationUnsuccessful', Instance: randomUuid(), Extensions: {} }, { 'www-authenticate': 'Bearer error="insufficient_scope"' });

function xeroOrganisationOf(a: AccessToken | Reply, isReply: (v: AccessToken | Reply) => v is Reply, tenantId: string | undefined, ctx: RouteContext): Reply {
  if (isReply(a)) return a;
  if (!a.grant.scope.split(' ').some((x) => x === 'accounting.settings' || x === 'accounting.settings.read')) return xeroInsufficientScope();
  const org = xeroTenants(a.grant).find((t) => t.tenantId === tenantId);
  return org ? xeroOrganisation(org.tenantId, org.name, ctx.now) : xeroForbidden();
}

/** Xero invoices of one organisation the token's grant still reaches (`xero-tenant-id`). */
function xeroInvoicesOf(a: AccessToken | Reply, isReply: (v: AccessToken | Reply) => v is Reply, tenantId: string | undefined, ctx: RouteContext): Reply {
  if (isReply(a)) return a;
  // A token without an invoices scope: 401 naming insufficient_scope in WWW-Authenticate
  // (https://community.xero.com/developer/discussion/119166525/).
  const granted = a.grant.scope.split(' ');
  if (!['accounting.invoices', 'accounting.invoices.read', 'accounting.transactions', 'accounting.transactions.read'].some((x) => granted.includes(x))) {
    return xeroInsufficientScope();
  }
  if (!tenantId || !xeroTenants(a.grant).some((t) => t.tenantId === tenantId)) return xeroForbidden();
  return xeroInvoices(tenantId, ctx.url, header(ctx.req, 'if-modified-since'), ctx.now);
}
