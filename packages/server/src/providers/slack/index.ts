import { AppError } from '../../platform/errors.js';
import type { ProviderAdapter, TokenAnswer } from '../adapter.js';

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

type Team = { id?: unknown; name?: unknown };

export const slack: ProviderAdapter = {
  id: 'slack',
  oauth: {
    flow: 'slack',
    tokenResponse: slackTokenAnswer,
    // The same answer names the workspace (`team`) the bot token is for.
    async accounts({ tokens, response }) {
      const team = response.team as Team | undefined;
      if (typeof team?.id !== 'string') throw new AppError('OAUTH_EXCHANGE_FAILED', 'Slack did not say which workspace was connected; try again');
      const name = typeof team.name === 'string' ? team.name : team.id;
      return [{ id: team.id, name, config: { teamId: team.id }, neverExpires: tokens.expiresIn === undefined }];
    },
  },
};
