import type { MessagingHooks } from '../adapter.js';

/**
 * chat.postMessage with a JSON body (the bot token goes in as Bearer, added by the proxy). Slack
 * answers HTTP 200 with `ok: false` and an `error` for refusals (`channel_not_found`,
 * `not_in_channel`); `ts` identifies the posted message.
 * https://docs.slack.dev/reference/methods/chat.postMessage
 */
export const slackChat: NonNullable<MessagingHooks['chat']> = {
  post: ({ channel, text }) => ({
    method: 'POST',
    path: '/api/chat.postMessage',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ channel, text }),
  }),
  result(answer) {
    const a = (answer && typeof answer === 'object' ? answer : {}) as { ok?: unknown; error?: unknown; ts?: unknown };
    if (a.ok === true) return { ok: true, id: typeof a.ts === 'string' ? a.ts : null };
    return { ok: false, error: typeof a.error === 'string' ? a.error.slice(0, 100) : 'not_ok' };
  },
};
