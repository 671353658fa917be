import { AppError } from '../../platform/errors.js';
import type { Account, OAuthContext, ProviderAdapter } from '../adapter.js';
import { getJson } from '../shared/http.js';
import { messengerWebhooks } from './webhooks.js';

type Page = { id?: string; name?: string; access_token?: string };
type PageList = { data?: Page[]; paging?: { next?: string } };

/** At Graph's 25 per page, 1,000 Pages: far more than one person manages by hand. */
const MAX_PAGE_REQUESTS = 40;

const exchangeFailed = (why: string) => new AppError('OAUTH_EXCHANGE_FAILED', `Facebook ${why}; try connecting again`);

/**
 * The code exchange gives a short-lived user token (about an hour), and a Page token listed with
 * it expires with it. Exchanged first for a long-lived user token (`grant_type=fb_exchange_token`),
 * the same listing gives Page tokens with no expiry date.
 * https://developers.facebook.com/docs/pages/access-tokens/
 * https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
 * Meta documents the exchange as a GET with the app secret in the query; Graph takes the same
 * parameters as a form POST (Facebook's own PHP SDK always POSTed its /oauth/access_token calls:
 * https://github.com/facebookarchive/facebook-php-sdk/blob/master/src/base_facebook.php,
 * `_oauthRequest`/`makeRequest`), which keeps the secret and both tokens out of URLs.
 */
async function longLivedUserToken(shortLived: string, ctx: OAuthContext): Promise<string> {
  const res = await ctx.http.request(ctx.provider.oauth!.tokenUrl, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'fb_exchange_token', client_id: ctx.app.clientId, client_secret: ctx.app.clientSecret, fb_exchange_token: shortLived }).toString(),
  }).catch(() => null);
  if (!res || res.statusCode !== 200) {
    await res?.body.dump();
    throw exchangeFailed('did not extend the authorization');
  }
  const body = (await res.body.json().catch(() => null)) as { access_token?: unknown } | null;
  if (typeof body?.access_token !== 'string' || body.access_token === '') throw exchangeFailed('did not extend the authorization');
  return body.access_token;
}

/** The Graph API version the catalog's verify request uses. */
const graphVersion = (ctx: OAuthContext) => /\/(v\d+\.\d+)\//.exec(ctx.provider.verify?.path ?? '')?.[1] ?? 'v21.0';

/**
 * Every Page of `/me/accounts`, following `paging.next` (25 per page by default):
 * https://developers.facebook.com/docs/graph-api/results/
 * The next link is Graph's own and carries the user token in its query; it is followed only on
 * Graph's origin, with the token moved back into the Authorization header.
 */
async function allPages(userToken: string, ctx: OAuthContext): Promise<Page[]> {
  const version = graphVersion(ctx);
  const origin = new URL(ctx.provider.baseUrl).origin;
  const pages: Page[] = [];
  let url: string | undefined = `${ctx.provider.baseUrl}/${version}/me/accounts`;
  for (let i = 0; url; i++) {
    if (i === MAX_PAGE_REQUESTS) throw exchangeFailed(`listed more than ${MAX_PAGE_REQUESTS * 25} Pages`);
    const body = (await getJson(ctx.http, url, userToken)) as PageList;
    pages.push(...(body.data ?? []));
    url = nextLink(body.paging?.next, origin);
  }
  return pages;
}

function nextLink(next: string | undefined, origin: string): string | undefined {
  if (typeof next !== 'string') return undefined;
  let u: URL;
  try {
    u = new URL(next);
  } catch {
    throw exchangeFailed('answered with a malformed paging link');
  }
  if (u.origin !== origin) throw exchangeFailed('answered with a paging link to another host');
  u.searchParams.delete('access_token');
  return u.href;
}

/**
 * The webhook fields Keyhold asks for on each Page: those messengerWebhooks (webhooks.ts) turns
 * into topics. Meta delivers a field only when the app subscribes to it too (App Dashboard).
 */
const PAGE_WEBHOOK_FIELDS = [
  'messages', 'messaging_postbacks', 'message_deliveries', 'message_reads', 'message_reactions', 'message_edits',
  'message_echoes', 'messaging_optins', 'messaging_referrals', 'messaging_account_linking', 'messaging_handovers', 'standby',
].join(',');

/**
 * A Page sends its webhooks only once the app is installed on it: `POST /{page-id}/subscribed_apps`
 * with `subscribed_fields` and that Page's token (pages_manage_metadata), answered `{ success: true }`.
 * https://developers.facebook.com/docs/messenger-platform/webhooks (step 4, "Install your app on
 * your Facebook Page"), https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps
 * The token goes in the Authorization header, the fields in a form body: nothing secret in the URL.
 * A refusal does not fail the connect (the Page token works for sending; the subscription can be
 * made again by reconnecting): it is logged with Graph's error code only and recorded on the
 * connection's config (`webhooks: 'not_subscribed'`), which the connection's API shows.
 */
async function subscribePage(pageId: string, pageToken: string, version: string, ctx: OAuthContext): Promise<boolean> {
  const res = await ctx.http.request(`${ctx.provider.baseUrl}/${version}/${encodeURIComponent(pageId)}/subscribed_apps`, {
    method: 'POST',
    headers: { accept: 'application/json', authorization: `Bearer ${pageToken}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ subscribed_fields: PAGE_WEBHOOK_FIELDS }).toString(),
  }).catch(() => null);
  const body = res ? ((await res.body.json().catch(() => null)) as { success?: unknown; error?: { code?: unknown } } | null) : null;
  if (res?.statusCode === 200 && body?.success === true) return true;
  const graphCode = typeof body?.error?.code === 'number' ? body.error.code : null;
  ctx.log?.warn({ provider: 'messenger', pageId, status: res?.statusCode ?? null, graphError: graphCode }, 'Messenger Page not subscribed to webhooks: its events will not arrive until it is connected again');
  return false;
}

export const messenger: ProviderAdapter = {
  id: 'messenger',
  oauth: {
    flow: 'messenger',
    async accounts({ tokens }, ctx): Promise<Account[]> {
      const userToken = await longLivedUserToken(tokens.accessToken, ctx);
      const pages = (await allPages(userToken, ctx)).filter((p) => typeof p.id === 'string' && typeof p.access_token === 'string');
      const version = graphVersion(ctx);
      // Every Page the user granted is subscribed before the choice (the hook runs before any
      // transaction and once): events of a Page not chosen find no connection and are quarantined.
      const accounts: Account[] = [];
      for (const p of pages) {
        const subscribed = await subscribePage(p.id!, p.access_token!, version, ctx);
        // Keyhold keeps only the Page token (no expiry); the user token (about 60 days) is not stored.
        accounts.push({ id: p.id!, name: p.name ?? p.id!, config: { pageId: p.id!, webhooks: subscribed ? 'subscribed' : 'not_subscribed' }, secrets: { accessToken: p.access_token! }, neverExpires: true });
      }
      return accounts;
    },
  },
  webhooks: messengerWebhooks,
};
