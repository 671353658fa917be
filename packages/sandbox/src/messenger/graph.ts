import type { IncomingMessage } from 'node:http';
import type { Reply } from '../providers.js';
import { NO_STORE, header, json } from '../oauth/http.js';
import { accountIds } from '../oauth/ids.js';
import type { AccessToken, OAuthApp, OAuthState } from '../oauth/state.js';

/**
 * Facebook's user and Page tokens as Meta documents them
 * (https://developers.facebook.com/docs/pages/access-tokens/,
 * https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived):
 * the code exchange gives a short-lived user token (1 h); `grant_type=fb_exchange_token` turns it
 * into a long-lived one (about 60 days); a Page token listed by `/me/accounts` lasts as long as a
 * short-lived user token it came from, and has no expiry when it came from a long-lived one.
 */
export const LONG_LIVED_USER_TOKEN_SECONDS = 5183944;
/** `/me/accounts` pages by 25 unless `limit` says otherwise: https://developers.facebook.com/docs/graph-api/results/ */
const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 100;

const graphError = (status: number, message: string, code: number, extra: Record<string, unknown> = {}): Reply =>
  json(status, { error: { message, type: 'OAuthException', code, ...extra, fbtrace_id: 'sandbox' } }, NO_STORE);

/** `GET|POST /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token` (the app is already authenticated). */
export function exchangeForLongLived(state: OAuthState, app: OAuthApp, params: Record<string, string>, now: number): Reply {
  const token = params.fb_exchange_token;
  if (!token) return graphError(400, 'fb_exchange_token parameter not specified', 1);
  const r = state.checkAccess('messenger', token, now);
  if (!('access' in r)) {
    return r.reason === 'expired'
      ? graphError(400, 'Error validating access token: Session has expired.', 190, { error_subcode: 463 })
      : graphError(400, 'Invalid OAuth access token - Cannot parse access token', 190);
  }
  const { grant } = r.access;
  if (grant.clientId !== app.clientId || r.access.page !== undefined) return graphError(400, 'Error validating access token: the token does not belong to this app user', 190);
  const expiresAt = now + LONG_LIVED_USER_TOKEN_SECONDS * 1000;
  const accessToken = state.issueAccessToken(grant, { expiresAt, longLived: true });
  return json(200, { access_token: accessToken, token_type: 'bearer', expires_in: LONG_LIVED_USER_TOKEN_SECONDS }, NO_STORE);
}

const cursor = (i: number) => Buffer.from(String(i)).toString('base64url');
const fromCursor = (c: string | null) => {
  const n = c === null ? 0 : Number.parseInt(Buffer.from(c, 'base64url').toString(), 10);
  return Number.isInteger(n) && n >= 0 ? n : null;
};

/** `/me/accounts` of a user token: the Pages, each with a Page token, in cursor pages with `next`. */
export function pageAccounts(state: OAuthState, user: AccessToken, req: IncomingMessage, url: URL, token: string): Reply {
  if (user.page !== undefined) return graphError(400, '(#100) Tried accessing nonexisting field (accounts) on node type (Page)', 100);
  const g = user.grant;
  const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Number.parseInt(url.searchParams.get('limit') ?? '', 10) || DEFAULT_PAGE_SIZE));
  const start = fromCursor(url.searchParams.get('after'));
  if (start === null) return graphError(400, '(#100) The after cursor is not valid', 100);
  const end = Math.min(g.count, start + limit);
  const pageToken = (i: number) => user.longLived ? g.pageTokens[i]! : state.issueAccessToken(g, { expiresAt: user.expiresAt, page: i });
  const data = Array.from({ length: Math.max(0, end - start) }, (_, k) => {
    const i = start + k;
    const ids = accountIds('messenger', g.account, i);
    return { access_token: pageToken(i), category: 'Business', category_list: [{ id: '2500', name: 'Business' }], name: ids.name, id: ids.pageId, tasks: ['MANAGE', 'MESSAGING'] };
  });
  // Graph's paging links are absolute and carry the access token in their query.
  const link = (after: string | undefined, before: string | undefined) => {
    const u = new URL(req.url ?? '/', `http://${header(req, 'host') ?? 'localhost'}`);
    u.search = '';
    u.searchParams.set('access_token', token);
    u.searchParams.set('limit', String(limit));
    if (after !== undefined) u.searchParams.set('after', after);
    if (before !== undefined) u.searchParams.set('before', before);
    return u.href;
  };
  const paging = data.length === 0 ? {} : {
    paging: {
      cursors: { before: cursor(start), after: cursor(end) },
      ...(start > 0 ? { previous: link(undefined, cursor(start)) } : {}),
      ...(end < g.count ? { next: link(cursor(end), undefined) } : {}),
    },
  };
  return json(200, { data, ...paging });
}

/**
 * `POST /{page-id}/subscribed_apps` with `subscribed_fields` (query or form), authenticated by
 * that Page's token: subscribes the app to the Page's webhooks and answers `{ success: true }`.
 * https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps (Creating)
 */
export function subscribeApp(state: OAuthState, token: AccessToken, pageId: string, params: URLSearchParams): Reply {
  const page = token.page === undefined ? undefined : accountIds('messenger', token.grant.account, token.page);
  if (!page) return graphError(400, '(#210) A page access token is required to request this resource.', 210);
  if (page.pageId !== pageId) return graphError(403, '(#200) The page access token does not belong to this Page', 200);
  const fields = (params.get('subscribed_fields') ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  if (fields.length === 0) return graphError(400, '(#100) The parameter subscribed_fields is required', 100);
  if (state.refusedPageSubscriptions.has(pageId)) return graphError(403, '(#200) To subscribe to the messages field, one of these permissions is needed: pages_messaging', 200);
  state.pageSubscriptions.set(pageId, fields);
  return json(200, { success: true });
}
