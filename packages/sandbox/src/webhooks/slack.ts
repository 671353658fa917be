import { createHmac, randomBytes } from 'node:crypto';

/**
 * Slack Events API requests (https://docs.slack.dev/apis/events-api/), signed as
 * https://docs.slack.dev/authentication/verifying-requests-from-slack says:
 * `x-slack-signature: v0=<hex HMAC-SHA256(signing secret, "v0:<timestamp>:<body>")>`,
 * `x-slack-request-timestamp: <unix seconds>`. Pure: given the same inputs (and the optional random parts), the same bytes.
 */
export type SlackDelivery = { headers: Record<string, string>; body: string };

export const slackSignature = (signingSecret: string, timestamp: string, body: string) =>
  `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;

/** Signs `body` (an object is serialised) at `at`; `retryNum` adds Slack's retry headers to a redelivery. */
export function slackWebhookDelivery(signingSecret: string, body: unknown, at: Date, opts: { retryNum?: number } = {}): SlackDelivery {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = String(Math.floor(at.getTime() / 1000));
  return {
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(signingSecret, timestamp, text),
      ...(opts.retryNum ? { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
    },
    body: text,
  };
}

/**
 * An `event_callback`. A workspace install names its workspace (`team_id`); an org-wide
 * Enterprise Grid install (`orgWide`) is authorised for the organisation, so `authorizations[0]`
 * says `is_enterprise_install: true` and the event's workspace is one of the organisation's.
 */
export function slackEventCallback(input: { teamId: string; enterpriseId?: string; orgWide?: boolean; event: Record<string, unknown> & { type: string }; eventId?: string; at: Date }) {
  return {
    token: 'sandbox-verification-token',
    team_id: input.teamId,
    ...(input.enterpriseId ? { enterprise_id: input.enterpriseId } : {}),
    api_app_id: 'A0SANDBOX',
    event: input.event,
    type: 'event_callback',
    event_id: input.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(input.at.getTime() / 1000),
    authorizations: [{ enterprise_id: input.enterpriseId ?? null, team_id: input.orgWide ? null : input.teamId, user_id: 'U0SANDBOXBOT', is_bot: true, is_enterprise_install: input.orgWide === true }],
    is_ext_shared_channel: false,
  };
}

export const slackUrlVerification = (challenge: string) => ({ token: 'sandbox-verification-token', challenge, type: 'url_verification' });
