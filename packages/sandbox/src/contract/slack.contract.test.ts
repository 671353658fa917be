/**
 * Slack's official Node clients against the sandbox, each pointed at it by its documented option
 * (no shim): @slack/oauth's `authorizationUrl` and `clientOptions.slackApiUrl`, @slack/web-api's
 * `slackApiUrl`. The install runs as a real app serves it: an HTTP server with the install path
 * (state cookie) and the redirect path (`handleCallback`), driven by a browser-like fetch.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Installation, InstallProvider } from '@slack/oauth';
import { ErrorCode, WebClient, WebClientEvent } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

let s: Sandbox;
let app: Server;
let appUrl: string;
let installer: InstallProvider;
const installed: Installation[] = [];
const failures: Error[] = [];
const client = { clientId: '1234.5678', clientSecret: 'slack-contract-secret' };

beforeAll(async () => {
  s = await createSandbox();
  app = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    if (path === '/slack/install') return void installer.handleInstallPath(req, res);
    if (path === '/slack/oauth_redirect') {
      return void installer.handleCallback(req, res, {
        success: (installation, _o, _q, r) => {
          installed.push(installation as Installation);
          r.writeHead(200).end('installed');
        },
        failure: (err, _o, _q, r) => {
          failures.push(err);
          r.writeHead(500).end(err.message);
        },
      });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  s.oauth.registerApp('slack', { ...client, redirectUri: `${appUrl}/slack/oauth_redirect` });
  installer = new InstallProvider({
    ...client,
    stateSecret: 'contract-state-secret',
    directInstall: true,
    installUrlOptions: { scopes: ['chat:write', 'chat:write.public'], redirectUri: `${appUrl}/slack/oauth_redirect` },
    authorizationUrl: `${s.url}/slack/oauth/v2/authorize`,
    clientOptions: { slackApiUrl: `${s.url}/slack/api/` },
    logLevel: 'error' as never,
  });
});
afterAll(async () => {
  await new Promise<void>((resolve) => app.close(() => resolve()));
  await s.close();
});

/** Install path → Slack's consent → the app's redirect path, as a browser follows them. */
async function install(consent: Record<string, string> = {}): Promise<{ status: number; installation?: Installation; authorize: URL }> {
  const start = await fetch(`${appUrl}/slack/install`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const cookie = start.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const authorize = new URL(start.headers.get('location')!);
  for (const [k, v] of Object.entries(consent)) authorize.searchParams.set(k, v);
  const consented = await fetch(authorize, { redirect: 'manual' });
  expect(consented.status).toBe(302);
  const before = installed.length;
  const done = await fetch(consented.headers.get('location')!, { headers: { cookie } });
  return { status: done.status, installation: installed.length > before ? installed.at(-1) : undefined, authorize };
}

describe('@slack/oauth InstallProvider', () => {
  it('asks for comma-separated scopes, exchanges the code with oauth.v2.access and stores the workspace install', async () => {
    const { status, installation, authorize } = await install({ sandbox_account: 'contract-workspace' });
    expect(status, failures.at(-1)?.message).toBe(200);
    expect(authorize.searchParams.get('scope')).toBe('chat:write,chat:write.public');
    expect(installation).toMatchObject({ isEnterpriseInstall: false, tokenType: 'bot', appId: 'A0SANDBOX', team: { id: expect.stringMatching(/^T/) } });
    expect(installation!.enterprise).toBeUndefined();
    expect(installation!.bot).toMatchObject({ token: expect.stringMatching(/^xoxb-/), scopes: ['chat:write', 'chat:write.public'], userId: 'U0SANDBOXBOT', id: 'B0SANDBOX' });
    const found = await installer.installationStore.fetchInstallation({ teamId: installation!.team!.id, enterpriseId: undefined, isEnterpriseInstall: false });
    expect(found.bot?.token).toBe(installation!.bot!.token);
  });

  it('an org-wide install (Enterprise Grid) has no team and is stored under the organisation', async () => {
    const { status, installation } = await install({ sandbox_account: 'contract-grid', sandbox_enterprise: '1' });
    expect(status, failures.at(-1)?.message).toBe(200);
    expect(installation).toMatchObject({ isEnterpriseInstall: true, enterprise: { id: expect.stringMatching(/^E/), name: 'contract-grid organisation' } });
    expect(installation!.team).toBeUndefined();
    expect(installation!.enterpriseUrl).toMatch(/^https:\/\//); // from auth.test, as the library asks for it
    const found = await installer.installationStore.fetchInstallation({ enterpriseId: installation!.enterprise!.id, teamId: undefined, isEnterpriseInstall: true });
    expect(found.bot?.token).toBe(installation!.bot!.token);
  });

  it('a space-separated scope list is not Slack\'s format: the consent refuses it', async () => {
    const url = await installer.generateInstallUrl({ scopes: 'chat:write channels:read', redirectUri: `${appUrl}/slack/oauth_redirect` }, false);
    const res = await fetch(url, { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
  });
});

describe('@slack/web-api WebClient', () => {
  const bot = async () => (await install()).installation!.bot!.token;

  it('auth.test and chat.postMessage with the bot token', async () => {
    const web = new WebClient(await bot(), { slackApiUrl: `${s.url}/slack/api/` });
    const who = await web.auth.test();
    expect(who).toMatchObject({ ok: true, team_id: expect.stringMatching(/^T/), user_id: 'U0SANDBOXBOT', bot_id: 'B0SANDBOX' });
    const sent = await web.chat.postMessage({ channel: 'C0ALERTS', text: 'Stock is low' });
    expect(sent).toMatchObject({ ok: true, channel: 'C0ALERTS', message: { text: 'Stock is low' } });
    const missing = await web.chat.postMessage({ channel: '', text: 'x' }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: ErrorCode.PlatformError, data: { ok: false, error: 'channel_not_found' } });
  });

  it('auth.revoke is authenticated by the token itself; the token is dead afterwards', async () => {
    const web = new WebClient(await bot(), { slackApiUrl: `${s.url}/slack/api/`, retryConfig: { retries: 0 } });
    expect(await web.auth.revoke({ test: true })).toMatchObject({ ok: true, revoked: false });
    expect(await web.auth.revoke()).toMatchObject({ ok: true, revoked: true });
    const revoke = s.requests().filter((r) => r.path === '/api/auth.revoke').at(-1)!;
    expect(revoke.headers.authorization).toMatch(/^Bearer xoxb-/);
    expect(revoke.body).not.toContain('client_secret');
    const after = await web.auth.test().catch((e: unknown) => e);
    expect(after).toMatchObject({ code: ErrorCode.PlatformError, data: { error: 'token_revoked' } });
  });

  it("honours Slack's 429 Retry-After: waits, then retries; or rejects when told to", async () => {
    const token = await bot();
    s.limits.configure('slack', { windows: [{ name: 'minute', limit: 1, windowMs: 800 }] }); // Retry-After rounds up to 1 s
    try {
      const web = new WebClient(token, { slackApiUrl: `${s.url}/slack/api/` });
      const waits: number[] = [];
      web.on(WebClientEvent.RATE_LIMITED, (seconds: number) => waits.push(seconds));
      await web.auth.test(); // may wait itself: the install's own auth.test used this second
      waits.length = 0;
      const started = Date.now();
      expect(await web.auth.test()).toMatchObject({ ok: true });
      expect(waits).toEqual([1]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      const strict = new WebClient(token, { slackApiUrl: `${s.url}/slack/api/`, rejectRateLimitedCalls: true });
      const limited = await strict.auth.test().catch((e: unknown) => e);
      expect(limited).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 1 });
    } finally {
      s.limits.reset();
    }
  });
});
