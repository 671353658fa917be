import { AppError } from '../../platform/errors.js';
import type { Account, ProviderAdapter, RevokeHook, TokenAnswer } from '../adapter.js';
import { slackChat } from './chat.js';
import { slackWebhooks } from './webhooks.js';

/**
 * oauth.v2.access answers HTTP 200 even for errors (`ok: false`, `error`), and calls the bot
 * token's type `bot`. Both are rewritten into RFC 6749 form: a 400 with `error`, and `bearer`.
 * https://docs.slack.dev/reference/methods/oauth.v2.access
 */
export function slackTokenAnswer({ status, body }: TokenAnswer): TokenAnswer {
  if (body.ok === false && typeof body.error === 'string') return { status: 400, body };
  if (status < 300 && typeof body.access_token === 'string' && body.token_type === 'bot') return { status, body: { ...body, token_type: 'bearer' } };
  return { status, body };
}

type Named = { id?: unknown; name?: unknown } | null | undefined;
const idOf = (x: Named) => (typeof x?.id === 'string' && x.id ? x.id : undefined);
const nameOf = (x: Named, fallback: string) => (typeof x?.name === 'string' && x.name ? x.name : fallback);

/**
 * Which install the answer is for. A workspace install names its `team` (and its Enterprise
 * Grid organisation, if any, in `enterprise`); an org-wide install has `team: null`, the
 * organisation in `enterprise` and `is_enterprise_install: true`
 * (https://api.slack.com/enterprise/apps/reference). Like Slack's own installation stores, the
 * routing key (`teamId`) is the organisation id for an org-wide install, else the workspace id.
 */
export function slackInstall(response: Record<string, unknown>, neverExpires: boolean): Account {
  const team = response.team as Named;
  const enterprise = response.enterprise as Named;
  const enterpriseId = idOf(enterprise);
  if (response.is_enterprise_install === true) {
    if (!enterpriseId) throw new AppError('OAUTH_EXCHANGE_FAILED', 'Slack did not say which organisation the app was installed on; try again');
    return { id: enterpriseId, name: `${nameOf(enterprise, enterpriseId)} (whole organisation)`, config: { teamId: enterpriseId, enterpriseId, orgWideInstall: 'true' }, neverExpires };
  }
  const teamId = idOf(team);
  if (!teamId) throw new AppError('OAUTH_EXCHANGE_FAILED', 'Slack did not say which workspace was connected; try again');
  return { id: teamId, name: nameOf(team, teamId), config: { teamId, ...(enterpriseId ? { enterpriseId } : {}) }, neverExpires };
}

/** Slack's answers when the token is already gone: the revocation's goal holds (RFC 7009 §2.2). */
const ALREADY_GONE = new Set(['invalid_auth', 'token_revoked', 'account_inactive', 'token_expired']);

/**
 * auth.revoke is a Web API method: the token authenticates its own revocation (Bearer), no client
 * credentials go with it, and the answer is HTTP 200 with `ok`.
 * https://docs.slack.dev/reference/methods/auth.revoke
 */
export const slackRevoke: RevokeHook = {
  format: 'slack',
  async send({ endpoint, token, timeoutMs, http }) {
    const res = await http.fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return res.status;
    }
    const answer = (await res.json().catch(() => ({}))) as { ok?: unknown; error?: unknown };
    if (answer.ok === true || (typeof answer.error === 'string' && ALREADY_GONE.has(answer.error))) return 200;
    // ok: false for another reason (ratelimited, a server fault): not revoked.
    return answer.error === 'ratelimited' ? 429 : 502;
  },
};

export const slack: ProviderAdapter = {
  id: 'slack',
  oauth: {
    flow: 'slack',
    tokenResponse: slackTokenAnswer,
    // The same answer names the workspace (`team`) or organisation the bot token is for.
    async accounts({ tokens, response }) {
      return [slackInstall(response, tokens.expiresIn === undefined)];
    },
  },
  revoke: slackRevoke,
  webhooks: slackWebhooks,
  messaging: { chat: slackChat },
};
