import { createHash } from 'node:crypto';
import type { LimitSettings } from '../limits.js';
import type { Reply } from '../providers.js';
import { bodyParams, json } from '../oauth/http.js';
import { accountIds } from '../oauth/ids.js';
import type { RouteContext } from '../oauth/routes.js';
import type { Issued, OAuthState } from '../oauth/state.js';

/**
 * Slack's side of the OAuth v2 flow and the Web API methods the sandbox serves. Every Web API
 * answer is HTTP 200 with `ok` (errors: `ok: false`, `error`), except a rate limit: 429 with
 * `Retry-After` (limits.ts). https://docs.slack.dev/apis/web-api/ — checked 2026-11-27
 */

/**
 * `scope` on the authorize URL is a comma-separated list (the official @slack/oauth joins with
 * ','): https://docs.slack.dev/authentication/installing-with-oauth. A space-separated list is
 * one scope Slack does not know. Slack's exact answer to it (error page or redirect) is not
 * documented; the sandbox redirects with `error=invalid_scope` as RFC 6749 §4.1.2.1 says.
 */
export function slackScopeProblem(scope: string | undefined): string | null {
  if (scope === undefined || scope === '') return null;
  const bad = scope.split(',').find((s) => !/^[a-z][a-z0-9_.:-]*$/i.test(s));
  return bad === undefined ? null : `Invalid permissions requested: '${bad}' (scopes are comma-separated)`;
}

/** The Enterprise Grid organisation behind an account (org-wide installs): an `E…` id. */
export function enterpriseOf(account: string): { id: string; name: string } {
  const h = createHash('sha256').update(`slack-enterprise\0${account}`).digest();
  return { id: `E${[...h.subarray(0, 10)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 36]).join('')}`, name: `${account} organisation` };
}

/**
 * oauth.v2.access's answer. An org-wide install (Enterprise Grid) has `team: null`, the
 * organisation in `enterprise` and `is_enterprise_install: true`:
 * https://docs.slack.dev/enterprise/developing-for-enterprise-orgs (reference payloads at
 * https://api.slack.com/enterprise/apps/reference) and https://docs.slack.dev/reference/methods/oauth.v2.access
 */
export function slackTokenBody(t: Issued): Record<string, unknown> {
  const g = t.grant;
  const team = accountIds('slack', g.account);
  const base = { ok: true, app_id: 'A0SANDBOX', authed_user: { id: 'U0SANDBOX' }, scope: g.scope, token_type: 'bot', access_token: t.accessToken, bot_user_id: 'U0SANDBOXBOT' };
  return g.enterprise
    ? { ...base, team: null, enterprise: enterpriseOf(g.account), is_enterprise_install: true }
    : { ...base, team: { id: team.teamId, name: team.name }, enterprise: null, is_enterprise_install: false };
}

/** Slack takes the token as a Bearer header or a `token` POST parameter. https://docs.slack.dev/apis/web-api/#authentication */
function tokenOf(ctx: RouteContext): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(String(ctx.req.headers.authorization ?? ''))?.[1];
  return bearer ?? (ctx.req.method === 'POST' ? bodyParams(ctx.req, ctx.body).token : undefined) ?? undefined;
}

const METHODS = new Set(['/api/auth.test', '/api/chat.postMessage', '/api/auth.revoke']);

/** The Web API methods the sandbox serves; null for any other path. */
export function slackApi(state: OAuthState, ctx: RouteContext): Reply | null {
  if (!METHODS.has(ctx.path) || (ctx.req.method !== 'POST' && ctx.req.method !== 'GET')) return null;
  const token = tokenOf(ctx);
  if (!token) return json(200, { ok: false, error: 'not_authed' });
  const r = state.checkAccess('slack', token, ctx.now);
  if (!('access' in r)) {
    state.countRejected('slack', r.reason);
    return json(200, { ok: false, error: r.reason === 'revoked' ? 'token_revoked' : 'invalid_auth' });
  }
  const g = r.access.grant;
  if (ctx.path === '/api/auth.revoke') {
    // The token authenticates its own revocation; no client credentials are involved.
    // https://docs.slack.dev/reference/methods/auth.revoke
    const params = { ...Object.fromEntries(ctx.url.searchParams), ...(ctx.req.method === 'POST' ? bodyParams(ctx.req, ctx.body) : {}) };
    if (params.test === '1' || params.test === 'true') return json(200, { ok: true, revoked: false });
    state.revokeToken('slack', token, g.clientId);
    return json(200, { ok: true, revoked: true });
  }
  if (ctx.path === '/api/auth.test') {
    if (g.enterprise) {
      // An org-level token names the organisation; whether Slack puts the E… id in team_id too is not documented.
      const org = enterpriseOf(g.account);
      return json(200, { ok: true, url: `https://${org.id.toLowerCase()}.enterprise.slack.com/`, team: org.name, user: 'keyhold', team_id: org.id, user_id: 'U0SANDBOXBOT', bot_id: 'B0SANDBOX', enterprise_id: org.id, is_enterprise_install: true });
    }
    const team = accountIds('slack', g.account);
    return json(200, { ok: true, url: `https://${team.teamId!.toLowerCase()}.slack.com/`, team: team.name, user: 'keyhold', team_id: team.teamId, user_id: 'U0SANDBOXBOT', bot_id: 'B0SANDBOX', is_enterprise_install: false });
  }
  const params = { ...Object.fromEntries(ctx.url.searchParams), ...(ctx.req.method === 'POST' ? bodyParams(ctx.req, ctx.body) : {}) };
  if (!params.channel) return json(200, { ok: false, error: 'channel_not_found' });
  if (!params.text && !params.blocks && !params.attachments) return json(200, { ok: false, error: 'no_text' });
  return json(200, { ok: true, channel: params.channel.startsWith('#') ? 'C0SANDBOX' : params.channel, ts: `${Math.floor(ctx.now / 1000)}.000100`, message: { type: 'message', text: params.text ?? '', user: 'U0SANDBOXBOT', bot_id: 'B0SANDBOX' } });
}

/**
 * Web API limits are per method, app and workspace, in tiers (Tier 3: 50+ a minute); over them
 * Slack answers HTTP 429 with `Retry-After` in seconds, which the official WebClient waits out.
 * https://docs.slack.dev/apis/web-api/rate-limits — checked 2026-11-27
 */
export const slackLimits: LimitSettings = { windows: [{ name: 'minute', limit: 50, windowMs: 60_000 }] };
export const slackRateLimited = (retryAfterS: string): Reply => ({ status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': retryAfterS } });
