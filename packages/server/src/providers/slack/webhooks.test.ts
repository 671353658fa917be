import { slackEventCallback, slackSignature, slackUrlVerification, slackWebhookDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import type { InboundWebhook } from '../adapter.js';
import { slackWebhooks as hooks, verifySlackRequest } from './webhooks.js';

/** The worked example of https://docs.slack.dev/authentication/verifying-requests-from-slack (a slash command, form-encoded). */
const DOC = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};
const docHeaders = { 'x-slack-signature': DOC.signature, 'x-slack-request-timestamp': DOC.timestamp };
const docTime = (offsetSeconds: number) => new Date((Number(DOC.timestamp) + offsetSeconds) * 1000);

const SECRET = 'slack-signing-secret-current';
const OLD_SECRET = 'slack-signing-secret-previous';
const NOW = new Date('2026-11-27T02:00:00Z');
const post = (d: { headers: Record<string, string>; body: string }): InboundWebhook => ({ method: 'POST', raw: Buffer.from(d.body), headers: d.headers, query: {} });
const message = { type: 'message', channel: 'C0001', user: 'U0001', text: 'hello', ts: '1795744800.000100' };

describe('Slack app webhooks', () => {
  it("verifies Slack's documented example, and the sandbox signs it the same way", () => {
    expect(slackSignature(DOC.secret, DOC.timestamp, DOC.body)).toBe(DOC.signature);
    expect(verifySlackRequest(Buffer.from(DOC.body), docHeaders, [DOC.secret], docTime(60))).toEqual({ ok: true });
    expect(verifySlackRequest(Buffer.from(DOC.body), docHeaders, [DOC.secret], docTime(-60))).toEqual({ ok: true });
  });

  it('refuses a timestamp more than five minutes away, in either direction, even when correctly signed', () => {
    expect(verifySlackRequest(Buffer.from(DOC.body), docHeaders, [DOC.secret], docTime(300))).toEqual({ ok: true });
    expect(verifySlackRequest(Buffer.from(DOC.body), docHeaders, [DOC.secret], docTime(301))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(verifySlackRequest(Buffer.from(DOC.body), docHeaders, [DOC.secret], docTime(-301))).toEqual({ ok: false, reason: 'stale_timestamp' });
    const old = slackWebhookDelivery(SECRET, slackEventCallback({ teamId: 'T1', event: message, at: NOW }), new Date(NOW.getTime() - 10 * 60_000));
    expect(hooks.verify(post(old), [SECRET], NOW)).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('refuses a tampered body, a moved timestamp, another secret, missing headers and an unconfigured secret; accepts both secrets in a rotation', () => {
    const d = slackWebhookDelivery(SECRET, slackEventCallback({ teamId: 'T1', event: message, at: NOW }), NOW);
    expect(hooks.verify(post(d), [SECRET], NOW)).toEqual({ ok: true });
    expect(hooks.verify(post({ ...d, body: d.body.replace('hello', 'hullo') }), [SECRET], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    const moved = { ...d.headers, 'x-slack-request-timestamp': String(Number(d.headers['x-slack-request-timestamp']) + 1) };
    expect(hooks.verify(post({ ...d, headers: moved }), [SECRET], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post(d), ['other'], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    const { 'x-slack-signature': _s, ...noSignature } = d.headers;
    const { 'x-slack-request-timestamp': _t, ...noTimestamp } = d.headers;
    expect(hooks.verify(post({ ...d, headers: noSignature }), [SECRET], NOW)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(hooks.verify(post({ ...d, headers: noTimestamp }), [SECRET], NOW)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(hooks.verify(post({ ...d, headers: { ...d.headers, 'x-slack-request-timestamp': '17e8' } }), [SECRET], NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(hooks.verify(post({ ...d, headers: { ...d.headers, 'x-slack-signature': d.headers['x-slack-signature']!.replace('v0=', 'v1=') } }), [SECRET], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post(d), [], NOW)).toEqual({ ok: false, reason: 'no_secret' });
    expect(hooks.verify(post(slackWebhookDelivery(OLD_SECRET, JSON.parse(d.body), NOW)), [SECRET, OLD_SECRET], NOW)).toEqual({ ok: true });
  });

  it('answers url_verification with the challenge and stores nothing', () => {
    const d = slackWebhookDelivery(SECRET, slackUrlVerification('3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P'), NOW);
    expect(hooks.verify(post(d), [SECRET], NOW)).toEqual({ ok: true });
    expect(hooks.handshake!(post(d), {})).toEqual({ status: 200, body: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', contentType: 'text/plain' });
    expect(hooks.handshake!(post(slackWebhookDelivery(SECRET, slackEventCallback({ teamId: 'T1', event: message, at: NOW }), NOW)), {})).toBeNull();
  });

  it('routes a workspace event by team_id with event_id as its id; a retry is the same event', () => {
    const body = slackEventCallback({ teamId: 'T0WORKSPACE', enterpriseId: 'E0ORG', event: message, eventId: 'Ev0PV52K21', at: NOW });
    const [event] = hooks.events(post(slackWebhookDelivery(SECRET, body, NOW)));
    expect(event).toMatchObject({ externalId: 'Ev0PV52K21', topic: 'message', routingKey: 'T0WORKSPACE' });
    expect(event!.effect).toBeUndefined();
    const retry = slackWebhookDelivery(SECRET, body, new Date(NOW.getTime() + 60_000), { retryNum: 1 });
    expect(hooks.verify(post(retry), [SECRET], new Date(NOW.getTime() + 60_000))).toEqual({ ok: true });
    expect(hooks.events(post(retry))[0]!.externalId).toBe('Ev0PV52K21');
  });

  it('routes an org-wide install by enterprise_id, the key Keyhold stores for it', () => {
    const body = slackEventCallback({ teamId: 'T0WORKSPACE', enterpriseId: 'E0ORG', orgWide: true, event: message, at: NOW });
    expect(hooks.events(post(slackWebhookDelivery(SECRET, body, NOW)))[0]!.routingKey).toBe('E0ORG');
    // Older payloads without `authorizations` say it at the top level.
    const { authorizations: _a, ...legacy } = body;
    expect(hooks.events(post(slackWebhookDelivery(SECRET, { ...legacy, is_enterprise_install: true }, NOW)))[0]!.routingKey).toBe('E0ORG');
  });

  it('marks app_uninstalled as disconnecting the install', () => {
    const body = slackEventCallback({ teamId: 'T0WORKSPACE', event: { type: 'app_uninstalled' }, at: NOW });
    expect(hooks.events(post(slackWebhookDelivery(SECRET, body, NOW)))[0]).toMatchObject({ topic: 'app_uninstalled', routingKey: 'T0WORKSPACE', effect: 'disconnected' });
  });

  it('marks tokens_revoked as disconnecting only when a bot token was revoked (Keyhold holds the bot token)', () => {
    const revoked = (tokens: Record<string, unknown>) =>
      hooks.events(post(slackWebhookDelivery(SECRET, slackEventCallback({ teamId: 'T0WORKSPACE', event: { type: 'tokens_revoked', tokens }, at: NOW }), NOW)))[0]!;
    expect(revoked({ oauth: ['U0USER'], bot: ['U0BOT'] })).toMatchObject({ topic: 'tokens_revoked', routingKey: 'T0WORKSPACE', effect: 'disconnected' });
    expect(revoked({ bot: ['U0BOT'] }).effect).toBe('disconnected');
    expect(revoked({ oauth: ['U0USER'] }).effect).toBeUndefined();
    expect(revoked({ oauth: ['U0USER'], bot: [] }).effect).toBeUndefined();
    expect(revoked({}).effect).toBeUndefined();
  });

  it('refuses verified bodies Slack would never send to the Events API (400)', () => {
    expect(hooks.handshake!(post({ headers: {}, body: DOC.body }), {})).toBeNull();
    expect(hooks.handshake!(post({ headers: {}, body: '{"type":"url_verification"}' }), {})).toBeNull();
    expect(() => hooks.events(post({ headers: {}, body: '{"type":"url_verification"}' }))).toThrow(/event_callback/);
    expect(() => hooks.events(post({ headers: {}, body: DOC.body }))).toThrow(/JSON/);
    expect(() => hooks.events(post({ headers: {}, body: '{"type":"event_callback","event":{"type":"message"}}' }))).toThrow();
    expect(() => hooks.events(post({ headers: {}, body: '{"type":"block_actions"}' }))).toThrow(/event_callback/);
  });
});
