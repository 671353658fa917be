import type { WebhookEvent, WebhookHooks, WebhookVerdict } from '../adapter.js';
import { derivedEventId, hmacMatchesAny, isRecord, malformedBody, parseJsonBody, stringOf } from '../shared/app-webhook.js';

/*
 * Slack's Events API (https://docs.slack.dev/apis/events-api/ ,
 * signing: https://docs.slack.dev/authentication/verifying-requests-from-slack): one Request URL
 * per app. `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>`,
 * and a timestamp more than five minutes from now is refused (replay protection). The same
 * check as @slack/bolt's verifySlackRequest (src/receivers/verify-request.ts), which refuses only
 * old timestamps; Keyhold also refuses ones five minutes in the future (Slack's Python SDK does).
 */
const WINDOW_SECONDS = 5 * 60;

export function verifySlackRequest(raw: Buffer, headers: Readonly<Record<string, string | undefined>>, secrets: readonly string[], now: Date): WebhookVerdict {
  const usable = secrets.filter((s) => s !== '');
  if (usable.length === 0) return { ok: false, reason: 'no_secret' };
  const signature = headers['x-slack-signature']?.trim();
  const timestamp = headers['x-slack-request-timestamp']?.trim();
  if (!signature || !timestamp) return { ok: false, reason: 'missing_signature' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed' };
  if (Math.abs(Math.floor(now.getTime() / 1000) - Number(timestamp)) > WINDOW_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  if (!signature.startsWith('v0=')) return { ok: false, reason: 'bad_signature' };
  const base = Buffer.concat([Buffer.from(`v0:${timestamp}:`), raw]);
  return hmacMatchesAny(base, signature.slice(3), usable, 'hex') ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/**
 * The install an event belongs to. Keyhold stores an org-wide (Enterprise Grid) install under its
 * organisation id and a workspace install under its workspace id (`slackInstall` in index.ts), so
 * an event for an org-wide install routes by `enterprise_id`. Which it is comes from
 * `authorizations[0].is_enterprise_install`, else the top-level `is_enterprise_install`, as
 * @slack/bolt's isBodyWithTypeEnterpriseInstall (src/helpers.ts) reads it.
 */
export function slackRoutingKey(body: Record<string, unknown>): string | undefined {
  const auth = Array.isArray(body.authorizations) && isRecord(body.authorizations[0]) ? body.authorizations[0] : undefined;
  const orgWide = auth ? auth.is_enterprise_install === true : body.is_enterprise_install === true;
  if (orgWide) return stringOf(body.enterprise_id) ?? stringOf(auth?.enterprise_id);
  return stringOf(body.team_id) ?? stringOf(auth?.team_id);
}

function callbackEvent(body: Record<string, unknown>): WebhookEvent {
  const routingKey = slackRoutingKey(body);
  if (!routingKey) throw malformedBody('Slack', 'names no team_id or enterprise_id');
  // app_rate_limited (https://docs.slack.dev/apis/events-api/#rate-limiting) carries no event_id:
  // one notice per install and minute.
  if (body.type === 'app_rate_limited') {
    return { externalId: derivedEventId('slack', 'app_rate_limited', routingKey, stringOf(body.minute_rate_limited)), topic: 'app_rate_limited', routingKey, payload: body };
  }
  const eventId = stringOf(body.event_id);
  const event = isRecord(body.event) ? body.event : undefined;
  const topic = stringOf(event?.type);
  if (!eventId || !topic) throw malformedBody('Slack', 'has an event_callback without event_id or event.type');
  return {
    externalId: eventId,
    topic,
    routingKey,
    payload: body,
    ...(endsTheInstall(topic, event) ? { effect: 'disconnected' as const } : {}),
  };
}

/**
 * Events after which the bot token Keyhold holds for the install no longer works.
 * - app_uninstalled: the app was removed from the workspace (or organisation):
 *   https://docs.slack.dev/reference/events/app_uninstalled
 * - tokens_revoked with a non-empty `event.tokens.bot`: bot tokens were revoked
 *   (https://docs.slack.dev/reference/events/tokens_revoked ; `tokens: { oauth?: string[]; bot?: string[] }`,
 *   lists of user ids, not tokens, as @slack/types' TokensRevokedEvent). An app has one bot user per
 *   workspace, so a revoked bot token there is the one Keyhold holds (the install is the bot token of
 *   oauth.v2.access). Only `oauth` (user tokens) revoked leaves the bot token working: no effect.
 */
function endsTheInstall(topic: string, event: Record<string, unknown> | undefined): boolean {
  if (topic === 'app_uninstalled') return true;
  if (topic !== 'tokens_revoked') return false;
  const tokens = isRecord(event?.tokens) ? event.tokens : undefined;
  return Array.isArray(tokens?.bot) && tokens.bot.length > 0;
}

export const slackWebhooks: WebhookHooks = {
  scheme: 'slack_v0',
  level: 'app',
  verify: (req, secrets, now) => verifySlackRequest(req.raw, req.headers, secrets, now),
  handshake(req) {
    if (req.method !== 'POST') return null;
    let body: unknown;
    try {
      body = JSON.parse(req.raw.toString('utf8'));
    } catch {
      return null; // not JSON: `events` refuses it
    }
    // https://docs.slack.dev/reference/events/url_verification: answer with the challenge (plain text is accepted).
    const challenge = isRecord(body) && body.type === 'url_verification' ? stringOf(body.challenge) : undefined;
    return challenge ? { status: 200, body: challenge, contentType: 'text/plain' } : null;
  },
  events(req) {
    const body = parseJsonBody(req.raw, 'Slack');
    if (!isRecord(body) || (body.type !== 'event_callback' && body.type !== 'app_rate_limited')) throw malformedBody('Slack', 'is not an event_callback');
    return [callbackEvent(body)];
  },
};
