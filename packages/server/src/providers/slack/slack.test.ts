import { describe, expect, it } from 'vitest';
import { slackTokenAnswer } from './index.js';

describe('oauth.v2.access answer', () => {
  it("turns HTTP 200 with ok: false into the RFC 6749 error it is", () => {
    expect(slackTokenAnswer({ status: 200, body: { ok: false, error: 'invalid_code' } })).toEqual({ status: 400, body: { ok: false, error: 'invalid_code' } });
  });
  it('reads the bot token type as bearer and keeps the rest (team) as is', () => {
    const body = { ok: true, access_token: 'xoxb-1', token_type: 'bot', team: { id: 'T1', name: 'Acme' } };
    expect(slackTokenAnswer({ status: 200, body })).toEqual({ status: 200, body: { ...body, token_type: 'bearer' } });
  });
});
