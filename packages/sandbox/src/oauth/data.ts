import type { Reply } from '../providers.js';
import { accountIds, messengerUserId, randomUuid } from './ids.js';
import { deleteConnection, listConnections, xeroTenants } from '../xero/connections.js';
import { xeroInvoices, xeroOrganisation } from '../xero/invoices.js';
import { bearer, header, json } from './http.js';
import type { RouteContext } from './routes.js';
import type { AccessToken, OAuthState } from './state.js';

type Rejection = 'unknown' | 'expired' | 'revoked';

/** Each provider's own reply to a missing, unknown, revoked or expired access token. */
const UNAUTHORIZED: Record<string, (why: Rejection) => Reply> = {
  xero: (why) => json(401, { Type: null, Title: 'Unauthorized', Status: 401, Detail: why === 'expired' ? 'TokenExpired: token expired' : 'AuthenticationUnsuccessful', Instance: randomUuid(), Extensions: {} },
    { 'www-authenticate': `Bearer error="invalid_token"` }),
  quickbooks: () => json(401, { fault: { error: [{ message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401', code: '3200' }], type: 'AUTHENTICATION' } }),
  shopify: () => json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }),
  'amazon-sp-api': () => json(403, { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: '' }] }),
  messenger: (why) => json(401, { error: graphTokenError(why) }),
};

function graphTokenError(why: Rejection) {
  const message = why === 'expired' ? 'Error validating access token: Session has expired.'
    : why === 'revoked' ? 'Error validating access token: The user has not authorized application.'
      : 'Invalid OAuth access token - Cannot parse access token';
  return { message, type: 'OAuthException', code: 190, ...(why === 'expired' ? { error_subcode: 463 } : why === 'revoked' ? { error_subcode: 458 } : {}), fbtrace_id: 'sandbox' };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The data (and verify) routes that accept OAuth access tokens. Null when the path is not one of
 * them, or (Shopify) when the token was not issued here and the seeded credentials should decide.
 */
export function dataRoute(state: OAuthState, ctx: RouteContext, seededShopToken: (token: string) => boolean): Reply | null {
  const { provider, path, req, url, now } = ctx;
  if (provider === 'slack') return slackApi(state, ctx);
  if (req.method !== 'GET' && !(provider === 'xero' && req.method === 'DELETE')) return null;
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
      const q = /^\/v3\/company\/([0-9]+)\/query$/.exec(path);
      if (q) {
        const a = authorized(bearer(req), (t) => accountIds('quickbooks', t.grant.account).realmId === q[1]);
        return isReply(a) ? a : quickbooksQuery(url.searchParams.get('query') ?? '', now);
      }
      const m = /^\/v3\/company\/([0-9]+)\/companyinfo\/([0-9]+)$/.exec(path);
      if (!m) return null;
      const realm = m[1]!;
      if (m[2] !== realm) return json(400, { Fault: { Error: [{ Message: 'Object Not Found', code: '610' }], type: 'ValidationFault' } });
      const a = authorized(bearer(req), (t) => accountIds('quickbooks', t.grant.account).realmId === realm);
      if (isReply(a)) return a;
      const ids = accountIds('quickbooks', a.grant.account);
      return json(200, { CompanyInfo: { CompanyName: ids.name, LegalName: ids.name, Country: 'US', Id: realm, SyncToken: '0' }, time: new Date(now).toISOString() });
    }
    case 'shopify': {
      const resource = /^\/admin\/api\/\d{4}-\d{2}\/(shop|orders|products|inventory_levels)\.json$/.exec(path)?.[1];
      if (!resource) return null;
      const token = header(req, 'x-shopify-access-token');
      if (!state.isKnownAccessToken(token)) {
        // Seeded (custom-app) tokens are checked by the verify route; only strangers are counted.
        if (!token || !seededShopToken(token)) state.countRejected('shopify', 'unknown');
        return null;
      }
      const a = authorized(token, (t) => t.grant.store === ctx.store);
      if (isReply(a)) return a;
      return shopifyResource(resource, ctx.store ?? '');
    }
    case 'amazon-sp-api': {
      if (path === '/fba/inventory/v1/summaries') {
        const a = authorized(header(req, 'x-amz-access-token'));
        return isReply(a) ? a : fbaInventory(url);
      }
      if (path !== '/sellers/v1/marketplaceParticipations') return null;
      const a = authorized(header(req, 'x-amz-access-token'));
      if (isReply(a)) return a;
      return json(200, {
        payload: [{
          marketplace: { id: 'ATVPDKIKX0DER', countryCode: 'US', name: 'Amazon.com', defaultCurrencyCode: 'USD', defaultLanguageCode: 'en_US', domainName: 'www.amazon.com' },
          participation: { isParticipating: true, hasSuspendedListings: false },
        }],
      });
    }
    case 'messenger': {
      if (path !== '/me' && path !== '/me/accounts') return null;
      const a = authorized(bearer(req) ?? url.searchParams.get('access_token') ?? undefined);
      if (isReply(a)) return a;
      const g = a.grant;
      if (path === '/me/accounts') {
        if (a.page !== undefined) return json(400, { error: { message: '(#100) Tried accessing nonexisting field (accounts) on node type (Page)', type: 'OAuthException', code: 100, fbtrace_id: 'sandbox' } });
        const data = range(g.count).map((i) => {
          const ids = accountIds('messenger', g.account, i);
          return { id: ids.pageId, name: ids.name, access_token: g.pageTokens[i], category: 'Business', category_list: [{ id: '2500', name: 'Business' }], tasks: ['MANAGE', 'MESSAGING'] };
        });
        const cursor = (i: number) => Buffer.from(String(i)).toString('base64url');
        return json(200, { data, paging: { cursors: { before: cursor(0), after: cursor(Math.max(0, data.length - 1)) } } });
      }
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

function quickbooksQuery(query: string, now: number): Reply {
  const entity = /from\s+(invoice|bill|exchangerate)\b/i.exec(query)?.[1]?.toLowerCase();
  if (!entity) return json(400, { Fault: { Error: [{ Message: 'Error parsing query', code: '4000' }], type: 'ValidationFault' } });
  const rows = entity === 'exchangerate'
    ? [{ SourceCurrencyCode: 'EUR', TargetCurrencyCode: 'USD', Rate: 1.08, AsOfDate: '2026-11-22' }]
    : range(3).map((i) => ({ Id: String(100 + i), DocNumber: `${entity === 'bill' ? 'B' : 'I'}-${100 + i}`, Balance: 50 * (i + 1), TotalAmt: 75 * (i + 1), CurrencyRef: { value: 'USD' }, DueDate: '2026-12-31' }));
  const key = entity === 'exchangerate' ? 'ExchangeRate' : entity === 'bill' ? 'Bill' : 'Invoice';
  return json(200, { QueryResponse: { [key]: rows, startPosition: 1, maxResults: rows.length }, time: new Date(now).toISOString() });
}

function shopifyResource(resource: string, store: string): Reply {
  const bodies: Record<string, unknown> = {
    shop: { shop: { myshopify_domain: store, name: 'Sandbox store' } },
    orders: { orders: range(3).map((i) => ({ id: 5000 + i, name: `#${1000 + i}`, total_price: (19.99 * (i + 1)).toFixed(2), currency: 'USD', financial_status: 'paid', created_at: '2026-11-20T10:00:00Z' })) },
    products: { products: range(2).map((i) => ({ id: 7000 + i, title: `Product ${i}`, variants: [{ id: 9000 + i, sku: `SKU-${i}`, inventory_item_id: 8000 + i }] })) },
    inventory_levels: { inventory_levels: range(2).map((i) => ({ inventory_item_id: 8000 + i, location_id: 1, available: 10 * (i + 1) })) },
  };
  return json(200, bodies[resource]);
}

function fbaInventory(url: URL): Reply {
  if (!url.searchParams.get('marketplaceIds')) return json(400, { errors: [{ code: 'InvalidInput', message: 'marketplaceIds is required', details: '' }] });
  return json(200, {
    payload: { granularity: { granularityType: 'Marketplace', granularityId: url.searchParams.get('granularityId') ?? '' }, inventorySummaries: range(2).map((i) => ({ asin: `B0SANDBOX${i}`, fnSku: `X00SANDBOX${i}`, sellerSku: `SKU-${i}`, totalQuantity: 25 * (i + 1), inventoryDetails: { fulfillableQuantity: 20 * (i + 1) } })) },
    pagination: {},
  });
}

/** Slack's Web API: HTTP 200 always, `ok` says whether the call worked. */
function slackApi(state: OAuthState, ctx: RouteContext): Reply | null {
  if (ctx.req.method !== 'POST' || (ctx.path !== '/api/auth.test' && ctx.path !== '/api/chat.postMessage')) return null;
  const r = state.checkAccess('slack', bearer(ctx.req), ctx.now);
  if (!('access' in r)) {
    state.countRejected('slack', r.reason);
    return json(200, { ok: false, error: r.reason === 'revoked' ? 'token_revoked' : 'invalid_auth' });
  }
  const team = accountIds('slack', r.access.grant.account);
  if (ctx.path === '/api/auth.test') return json(200, { ok: true, url: `https://${team.teamId!.toLowerCase()}.slack.com/`, team: team.name, user: 'keyhold', team_id: team.teamId, user_id: 'U0SANDBOXBOT', bot_id: 'B0SANDBOX', is_enterprise_install: false });
  return json(200, { ok: true, channel: 'C0SANDBOX', ts: `${Math.floor(ctx.now / 1000)}.000100`, message: { type: 'message', text: 'sent' } });
}
