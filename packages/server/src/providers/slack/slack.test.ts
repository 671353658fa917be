import { describe, expect, it } from 'vitest';
import { slackInstall, slackTokenAnswer } from './index.js';

describe('oauth.v2.access answer', () => {
  it("turns HTTP 200 with ok: false into the RFC 6749 error it is", () => {
    expect(slackTokenAnswer({ status: 200, body: { ok: false, error: 'invalid_code' } })).toEqual({ status: 400, body: { ok: false, error: 'invalid_code' } });
  });
  it('reads the bot token type as bearer and keeps the rest (team) as is', () => {
    const body = { ok: true, access_token: 'xoxb-1', token_type: 'bot', team: { id: 'T1', name: 'Acme' } };
    expect(slackTokenAnswer({ status: 200, body })).toEqual({ status: 200, body: { ...body, token_type: 'bearer' } });
  });
});

describe('which install oauth.v2.access is for', () => {
  it('a workspace (inside an Enterprise Grid organisation or not) is routed by its team id', () => {
    expect(slackInstall({ team: { id: 'T1', name: 'Acme' }, enterprise: null, is_enterprise_install: false }, true)).toEqual({ id: 'T1', name: 'Acme', config: { teamId: 'T1' }, neverExpires: true });
    expect(slackInstall({ team: { id: 'T2', name: 'Acme EU' }, enterprise: { id: 'E1', name: 'Acme Group' }, is_enterprise_install: false }, true).config).toEqual({ teamId: 'T2', enterpriseId: 'E1' });
  });
  it('an org-wide install (team: null) is routed by the organisation id', () => {
    // The reference payload of https://api.slack.com/enterprise/apps/reference
    const answer = { ok: true, access_token: 'xoxb-XXXX', token_type: 'bot', scope: 'identify,users:read', bot_user_id: 'W0XXXX', app_id: 'A0UXXXX', team: null, enterprise: { id: 'E1XXX', name: 'Starship' }, is_enterprise_install: true, authed_user: { id: 'WXXXX' } };
    expect(slackInstall(answer, true)).toEqual({ id: 'E1XXX', name: 'Starship (whole organisation)', config: { teamId: 'E1XXX', enterpriseId: 'E1XXX', orgWideInstall: 'true' }, neverExpires: true });
  });
  it('an answer naming neither is refused, never guessed', () => {
    expect(() => slackInstall({ team: null, enterprise: null, is_enterprise_install: true }, true)).toThrow(/organisation/);
    expect(() => slackInstall({ team: null, enterprise: { id: 'E1' }, is_enterprise_install: false }, true)).toThrow(/workspace/);
  });
});
